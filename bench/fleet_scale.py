"""Fleet scale: what one operator costs with N SmallModels, and how fast it reacts among them.

    python bench/fleet_scale.py [--sizes 100 500 1000] [--baseline-src DIR --baseline-sizes 100]
                                [--out bench/results/fleet.md]

Runs on the local dev cluster (control plane, kwok GPU nodes) with the real operator process and
no Prometheus. The models' engine image is not the simulator's, so their pods need no process:
the operator and the control plane do all the work. For each N, in a fresh cluster:

- converge: N SmallModels created at once (8 client threads) -> every one Ready=True.
- writes: the operator's own count of its API writes (its metric slmfleet_api_calls_total, by
  verb and resource), per model, from before the models are created to all Ready ("converge"),
  then until the fleet pass has seen every model Ready ("settle": every model's status.cost
  counts its replica's GPU), then over the idle window; beside it the API server's count of
  SmallModel writes by every client (less the bench's creates), which would show writes the
  operator's metric misses (kopf's own). Counts, unlike timings, do not depend on the machine.
- idle: 15 s after the fleet pass has seen every model Ready, over 30 s: the operator's CPU
  share of one core (/proc/PID/stat) and its largest RSS; the API server's request count over
  the same window with the operator running, then with it stopped: the difference is the
  operator's requests/s.
- react: 40 (``--react-samples``) more SmallModels created one after the other with the fleet present: create ->
  its first engine Deployment seen by a watch (p50/p99), and that Deployment ready -> the
  SmallModel Ready=True (status lag, p50/p99).

``--profile DIR`` also samples the operator with py-spy (when on PATH) from create to all Ready
and over the idle window, and writes its collapsed stacks to DIR/converge-N.txt and
DIR/idle-N.txt, for finding what converging and an idle fleet cost.

Every row also carries the CPU seconds each process (etcd, the API server, controller-manager,
scheduler, kwok, the operator, this bench) used from create to all Ready ("converge_cpu_s"):
on 2 cores, what the operator spends is taken from the control plane.

``--control-plane-sizes N ...`` first times N bare Deployments and Services with no operator, in a
fresh cluster: the share of "all Ready" that the control plane alone takes on this machine.

``--baseline-src DIR`` runs the same scenario with the operator package found in DIR/operator
(a checkout of an earlier commit), side by side, for the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from fleet_meters import (
    WriteMarks,
    apiserver_requests,
    apiserver_requests_by,
    cpu_of,
    cpu_seconds,
    cpu_used,
    profile,
    profile_apiserver,
    requests_between,
    rss_mib,
    stop_profile,
)
from fleet_report import IDLE_WINDOW_SECONDS, table, writes_table
from fleet_watch import NAMESPACE, Watcher, percentile, timeline
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.k8s import Kube

EXAMPLES = repo_root() / "manifests" / "examples"
REACT_SAMPLES = 40
IDLE_SETTLE_SECONDS = 15.0
SETTLE_TIMEOUT_SECONDS = 600.0


def nodes(models: int) -> list[FakeGPUNode]:
    """T4 nodes for one GPU per model and at most 100 pods per node (their limit is 110)."""
    count = max(2, -(-(models + REACT_SAMPLES + 20) // 100))
    return [
        FakeGPUNode(f"gpu-t4-{i}", "Tesla-T4", gpus=100, gpu_memory_mib=15360) for i in range(count)
    ]


def model(name: str) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": NAMESPACE}
    body["spec"]["servedModelName"] = name
    # One replica, fixed: the idle narrow models of a fleet (no autoscaling, and so no
    # PodDisruptionBudget, which only a model of more than one replica gets).
    body["spec"].update({"replicas": 1, "minReplicas": 1, "maxReplicas": 1})
    body["spec"].pop("autoscaling", None)
    # Not the simulator's image: the local cluster marks these pods ready without a process.
    body["spec"]["engine"] = {"image": "registry.invalid/fleet-bench-engine:1"}
    return dict(body)


def wait_for(what: str, probe: Callable[[], bool], timeout: float, every: float = 1.0) -> float:
    start = time.monotonic()
    while not probe():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)
    return time.monotonic() - start


def idle_window(api: client.ApiClient, pid: int | None) -> dict[str, float]:
    """Operator CPU and RSS (when ``pid``) and API requests over IDLE_WINDOW_SECONDS."""
    cpu0 = cpu_seconds(pid) if pid else 0.0
    req0, t0 = apiserver_requests(api), time.monotonic()
    rss = 0.0
    while time.monotonic() - t0 < IDLE_WINDOW_SECONDS:
        if pid:
            rss = max(rss, rss_mib(pid))
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    out = {"requests_per_s": (apiserver_requests(api) - req0) / elapsed}
    if pid:
        out.update(cpu_share=(cpu_seconds(pid) - cpu0) / elapsed, rss_mib=rss)
    return out


def idle_events(k8s: Kube, since: float) -> dict[str, int]:
    """Events of the fleet's namespace last seen after ``since`` (epoch seconds), by reason."""
    out: dict[str, int] = {}
    for event in k8s.list("Event", NAMESPACE):
        stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
        when = (
            time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            if stamp
            else 0
        )
        if when >= since:
            out[str(event.get("reason"))] = out.get(str(event.get("reason")), 0) + 1
    return out


def react(k8s: Kube, watcher: Watcher, samples: int) -> tuple[list[float], list[float]]:
    """``samples`` more models one after the other: create -> Deployment seen, and Deployment
    ready -> model Ready, each."""
    seen: list[float] = []
    lag: list[float] = []
    for i in range(samples):
        name = f"extra{i:03d}"
        start = time.monotonic()
        k8s.create(model(name))
        wait_for(f"{name}'s Deployment", lambda n=name: n in watcher.deployment_seen, 300, 0.01)
        seen.append(watcher.deployment_seen[name] - start)
        wait_for(f"{name} Ready", lambda n=name: n in watcher.model_ready, 300, 0.05)
        # the Deployments' watch may see its readiness after the models' (a stream restart)
        wait_for(f"{name}'s replica", lambda n=name: n in watcher.deployment_ready, 60, 0.05)
        lag.append(max(0.0, watcher.model_ready[name] - watcher.deployment_ready[name]))
    return seen, lag


def converge(k8s: Kube, watcher: Watcher, size: int, pids: Mapping[str, int]) -> dict[str, Any]:
    """N models created at once (8 client threads) until the watch saw every one Ready: the
    time, each process's CPU seconds and the API server's requests by resource and verb."""
    cpu0, requests0 = cpu_of(pids), apiserver_requests_by(k8s.api)
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: k8s.create(model(f"m{i:04d}")), range(size)))

    def all_ready() -> bool:
        return sum(n.startswith("m") for n in watcher.model_ready) >= size

    wait_for(f"{size} models Ready", all_ready, timeout=1800, every=0.1)
    return {
        "converge_s": max(watcher.model_ready.values()) - t0,
        "timeline_s": timeline(watcher, t0),
        "converge_cpu_s": cpu_used(cpu0, pids),
        "converge_apiserver_requests": requests_between(requests0, apiserver_requests_by(k8s.api)),
    }


def run(
    size: int,
    src: str | None,
    logs: Path,
    samples: int = REACT_SAMPLES,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    env = {"SLMFLEET_GPUCLASS_RESYNC_SECONDS": "60"}
    if src:
        env["PYTHONPATH"] = str(Path(src) / "operator")
    with DevCluster(nodes(size), workdir=logs, prometheus=False) as cluster:
        api = cluster.api_client()
        k8s = Kube(api)
        apply_crds(k8s, Path(src) / "crds" if src else None)  # the baseline's own schema
        apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
        k8s.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        # The operator serves its metrics (the file is the scrape target nobody reads here).
        targets = logs / "operator-targets.json"
        operator = OperatorProcess(cluster.kubeconfig, logs / "logs", env, metrics_target=targets)
        process = operator.start()
        watcher = Watcher(api).start()
        marks = WriteMarks(api, operator.metrics_address)
        marks.mark("start")
        pids = {**cluster.pids(), "operator": process.pid, "bench": os.getpid()}
        spy = profile(process.pid, profile_dir / f"converge-{size}.txt") if profile_dir else None
        if profile_dir:
            profile_apiserver(api, profile_dir / f"apiserver-converge-{size}.pprof")
        converged = converge(k8s, watcher, size, pids)
        stop_profile(spy)
        marks.mark("ready")

        def pass_saw_all() -> bool:
            return sum(n.startswith("m") for n in watcher.model_counted) >= size

        settle = None
        if not src:  # the baseline keeps no cost
            settle = wait_for("the fleet pass", pass_saw_all, SETTLE_TIMEOUT_SECONDS, every=2.0)
        marks.mark("settled")
        time.sleep(IDLE_SETTLE_SECONDS)
        spy = None
        if profile_dir:
            spy = profile(process.pid, profile_dir / f"idle-{size}.txt", IDLE_WINDOW_SECONDS)
        marks.mark("idle")
        idle_from, idle_wall = time.monotonic(), time.time()
        idle = idle_window(api, process.pid)
        writes = sum(idle_from <= t for t in list(watcher.model_writes))
        marks.mark("idle end")
        reasons = idle_events(k8s, idle_wall)
        if spy is not None:
            spy.wait()
        seen, lag = react(k8s, watcher, samples)
        operator.check()
        operator.stop()
        without = idle_window(api, None)
        watcher.stop()
        return {
            "models": size,
            "operator": "baseline" if src else "this",
            **converged,
            "idle_cpu_share": idle["cpu_share"],
            "rss_mib": idle["rss_mib"],
            "operator_requests_per_s": max(0.0, idle["requests_per_s"] - without["requests_per_s"]),
            "create_to_deployment_p50_s": statistics.median(seen),
            "create_to_deployment_p99_s": percentile(seen, 0.99),
            "status_lag_p50_s": statistics.median(lag),
            "status_lag_p99_s": percentile(lag, 0.99),
            "idle_model_writes": writes,
            "idle_events": reasons,
            "settle_s": settle,
            **marks.phases(size),
        }


def bare_objects(name: str) -> list[dict[str, Any]]:
    """What the operator creates for one model, without the operator: a Deployment of one
    replica (an image with no process behind it, as the models use) and its Service."""
    labels = {"app": name}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"slmfleet.io/model": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"nodeSelector": {"nvidia.com/gpu.product": "Tesla-T4"},
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "engine", "image": "registry.invalid/fleet-bench-engine:1",
                                     "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"selector": labels, "ports": [{"port": 8000}]},
    }  # fmt: skip
    return [deployment, service]


def control_plane_only(size: int, logs: Path, profile_dir: Path | None) -> dict[str, Any]:
    """The floor the control plane sets on "all Ready": N bare Deployments and Services created
    at once (8 client threads), no operator, until every Deployment has its replica ready."""
    with DevCluster(nodes(size), workdir=logs, prometheus=False) as cluster:
        api = cluster.api_client()
        k8s = Kube(api)
        k8s.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        watcher = Watcher(api, models=False).start()
        pids = {**cluster.pids(), "bench": os.getpid()}
        cpu0 = cpu_of(pids)
        requests0 = apiserver_requests_by(api)
        if profile_dir:
            profile_apiserver(api, profile_dir / f"apiserver-bare-{size}.pprof")
        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(lambda i: [k8s.create(o) for o in bare_objects(f"m{i:04d}")], range(size))
            )

        def all_ready() -> bool:
            return len(watcher.deployment_ready) >= size

        wait_for(f"{size} bare Deployments ready", all_ready, timeout=1800, every=0.1)
        converge = max(watcher.deployment_ready.values()) - t0
        shape = timeline(watcher, t0)
        cpu = cpu_used(cpu0, pids)
        requests = requests_between(requests0, apiserver_requests_by(api))
        watcher.stop()
        return {
            "models": size,
            "operator": "control plane only",
            "converge_s": converge,
            "timeline_s": shape,
            "converge_cpu_s": cpu,
            "converge_apiserver_requests": requests,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 500, 1000])
    parser.add_argument("--baseline-src", help="a checkout whose operator/ is the baseline")
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[100])
    parser.add_argument("--react-samples", type=int, default=REACT_SAMPLES)
    parser.add_argument(
        "--baseline-react-samples", type=int, default=10, help="the baseline takes ~25 s each"
    )
    parser.add_argument("--out", type=Path, help="write the results as markdown here")
    parser.add_argument("--profile", type=Path, help="py-spy the idle operator into this folder")
    parser.add_argument("--json", type=Path, help="append the raw results here")
    parser.add_argument("--control-plane-sizes", type=int, nargs="*", default=[],
                        help="also time N bare Deployments with no operator (the floor)")  # fmt: skip
    args = parser.parse_args()
    rows = []
    for size in args.control_plane_sizes:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            rows.append(control_plane_only(size, Path(tmp), args.profile))
        print(json.dumps(rows[-1]), flush=True)
    runs = [(n, None) for n in args.sizes]
    if args.baseline_src:
        runs = [(n, args.baseline_src) for n in args.baseline_sizes] + runs
    for size, src in runs:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            (Path(tmp) / "logs").mkdir()
            samples = args.baseline_react_samples if src else args.react_samples
            row = run(size, src, Path(tmp), samples, None if src else args.profile)
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(row) + "\n")
    text = table(rows) + "\n\nAPI writes per model:\n\n" + writes_table(rows)
    print(text)
    if args.out:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
        args.out.write_text(f"# Fleet scale\n\nMeasured on {machine}.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
