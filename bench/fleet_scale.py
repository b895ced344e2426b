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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, watch
from prometheus_client.parser import text_string_to_metric_families
from urllib3.exceptions import ProtocolError

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.k8s import Kube

EXAMPLES = repo_root() / "manifests" / "examples"
NAMESPACE = "fleet"
REACT_SAMPLES = 40
IDLE_SETTLE_SECONDS = 15.0
IDLE_WINDOW_SECONDS = 30.0
SETTLE_TIMEOUT_SECONDS = 600.0
WRITE_VERBS = ("apply", "patch", "create", "update", "delete")  # the operator's metric's names
ALL_VERBS = (*WRITE_VERBS, "get", "list")
APISERVER_WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE")
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def ready(body: dict[str, Any]) -> bool:
    conditions = (body.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def wait_for(what: str, probe: Callable[[], bool], timeout: float, every: float = 1.0) -> float:
    start = time.monotonic()
    while not probe():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)
    return time.monotonic() - start


class Watcher:
    """First time each model's engine Deployment was seen, became ready, the model Ready, and
    the fleet pass counted its GPU. Watches resume from the last resourceVersion seen, so the
    bench lists each kind once, not on every poll (a LIST of 1,000 models every 2 s would load
    the API server the bench measures)."""

    def __init__(self, api: client.ApiClient, models: bool = True) -> None:
        self.api = api
        self.deployment_seen: dict[str, float] = {}
        self.deployment_ready: dict[str, float] = {}
        self.model_ready: dict[str, float] = {}
        self.model_counted: dict[str, float] = {}  # status.cost counts its GPU (counted_gpus)
        self.model_writes: list[float] = []  # when a SmallModel changed (MODIFIED events)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._deployments, daemon=True)]
        if models:
            self._threads.append(threading.Thread(target=self._models, daemon=True))

    def start(self) -> Watcher:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _stream(self, list_call: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Events until stopped, resuming each 30 s stream where the last one ended."""
        version = None
        while not self._stop.is_set():
            w = watch.Watch()
            extra: dict[str, str] = {"resource_version": version} if version else {}
            try:
                for event in w.stream(list_call, *args, timeout_seconds=30, **kwargs, **extra):
                    yield event
                    version = w.resource_version
            except ProtocolError:  # a busy API server ends streams early
                version = w.resource_version or version
            except client.ApiException as e:
                if e.status != 410:
                    raise
                version = None  # too old: list again

    def _deployments(self) -> None:
        apps = client.AppsV1Api(self.api)
        for event in self._stream(apps.list_namespaced_deployment, NAMESPACE,
                                  label_selector="slmfleet.io/model"):  # fmt: skip
            now = time.monotonic()
            dep = event["object"]
            name = (dep.metadata.labels or {}).get("slmfleet.io/model", "")
            self.deployment_seen.setdefault(name, now)
            if (dep.status.ready_replicas or 0) >= 1:
                self.deployment_ready.setdefault(name, now)

    def _models(self) -> None:
        custom = client.CustomObjectsApi(self.api)
        for event in self._stream(custom.list_namespaced_custom_object, "slmfleet.io",
                                  "v1alpha1", NAMESPACE, "smallmodels"):  # fmt: skip
            body = event["object"]
            now = time.monotonic()
            if event["type"] == "MODIFIED":
                self.model_writes.append(now)
            name = body["metadata"]["name"]
            if ready(body):
                self.model_ready.setdefault(name, now)
            if counted_gpus(body):
                self.model_counted.setdefault(name, now)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def apiserver_metrics(api: client.ApiClient) -> str:
    method, url, headers, body, post = api.param_serialize(
        method="GET", resource_path="/metrics", header_params={"Accept": "text/plain"},
        auth_settings=["BearerToken"],
    )  # fmt: skip
    resp = api.call_api(method, url, header_params=headers, body=body, post_params=post)
    resp.read()
    return str(resp.data.decode())


def apiserver_requests(api: client.ApiClient) -> float:
    """The API server's apiserver_request_total, summed over every label set."""
    total = 0.0
    for line in apiserver_metrics(api).splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def apiserver_requests_by(api: client.ApiClient) -> dict[str, float]:
    """The API server's apiserver_request_total by ``resource[/subresource] VERB``, every
    client."""
    out: dict[str, float] = {}
    for labels, value in _samples(apiserver_metrics(api), "apiserver_request_total"):
        resource = labels.get("resource") or labels.get("path", "?")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        key = f"{resource} {labels.get('verb', '?')}"
        out[key] = out.get(key, 0.0) + value
    return out


def requests_between(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Requests by key between two readings, the largest first."""
    return dict(sorted(writes_between(before, after).items(), key=lambda kv: -kv[1]))


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def apiserver_model_writes(api: client.ApiClient) -> float:
    """Write requests to SmallModels (and their status) the API server counted, every client."""
    return sum(
        value
        for labels, value in _samples(apiserver_metrics(api), "apiserver_request_total")
        if labels.get("resource") == "smallmodels" and labels.get("verb") in APISERVER_WRITE_VERBS
    )


def operator_writes(address: str | None, verbs: Collection[str] = WRITE_VERBS) -> dict[str, float]:
    """The operator's API writes (or calls of ``verbs``) so far, by ``resource verb`` (its
    slmfleet_api_calls_total); empty when it serves no metrics or does not label calls by
    resource (the baseline)."""
    if not address:
        return {}
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=30) as resp:  # loopback
        text = resp.read().decode()
    out: dict[str, float] = {}
    for labels, value in _samples(text, "slmfleet_api_calls_total"):
        if labels.get("verb") in verbs and "resource" in labels:
            key = f"{labels['resource']} {labels['verb']}"
            out[key] = out.get(key, 0.0) + value
    return out


def writes_between(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


class WriteMarks:
    """The operator's writes by resource and the API server's SmallModel writes, at marks."""

    def __init__(self, api: client.ApiClient, address: str | None) -> None:
        self.api, self.address = api, address
        self.marks: dict[str, tuple[dict[str, float], float]] = {}
        self.calls: dict[str, float] = {}  # every call of the operator's own, reads included

    def mark(self, name: str) -> None:
        self.marks[name] = (operator_writes(self.address), apiserver_model_writes(self.api))
        self.calls[name] = sum(operator_writes(self.address, ALL_VERBS).values())

    def phases(self, created: int) -> dict[str, Any]:
        """Writes in each phase: the operator's by resource, and every client's SmallModel
        writes less the ``created`` models the bench created."""
        spans = {"converge": ("start", "ready"), "settle": ("ready", "settled"),
                 "idle": ("idle", "idle end")}  # fmt: skip
        ours, every = {}, {}
        for phase, (first, last) in spans.items():
            (ours0, all0), (ours1, all1) = self.marks[first], self.marks[last]
            ours[phase] = writes_between(ours0, ours1)
            every[phase] = all1 - all0 - (created if phase == "converge" else 0)
        idle_calls = self.calls["idle end"] - self.calls["idle"]
        return {"operator_writes": ours, "apiserver_smallmodel_writes": every,
                "operator_idle_calls": idle_calls}  # fmt: skip


def counted_gpus(body: Mapping[str, Any]) -> bool:
    """The fleet pass has seen this model's replica: its status.cost counts a GPU."""
    return int(((body.get("status") or {}).get("cost") or {}).get("gpus") or 0) >= 1


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def profile(pid: int, out: Path, seconds: float | None = None) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` without pausing it, as collapsed stacks: for ``seconds``, or until
    sent SIGINT (see ``stop_profile``)."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy on PATH (pip install py-spy)")
    duration = ["--duration", str(int(seconds))] if seconds else []
    cmd = [spy, "record", "--pid", str(pid), *duration, "--rate", "50",
           "--nonblocking", "--threads", "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_apiserver(api: client.ApiClient, out: Path, seconds: int = 60) -> threading.Thread:
    """The API server's own CPU profile (pprof) over the next ``seconds``, written to ``out``
    (read it with ``go tool pprof -top``)."""

    def fetch() -> None:
        method, url, headers, body, post = api.param_serialize(
            method="GET", resource_path="/debug/pprof/profile", query_params=[("seconds", seconds)],
            auth_settings=["BearerToken"],
        )  # fmt: skip
        resp = api.call_api(method, url, header_params=headers, body=body, post_params=post,
                            _request_timeout=seconds + 60)  # fmt: skip
        resp.read()
        out.write_bytes(resp.data)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    return thread


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    """py-spy writes what it sampled when interrupted."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def cpu_of(pids: Mapping[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items() if Path(f"/proc/{pid}").exists()}


def cpu_used(before: Mapping[str, float], pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds each process (and this bench, "bench") used since ``before``."""
    after = cpu_of(pids)
    return {k: round(after[k] - before[k], 1) for k in before if k in after}


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


def timeline(watcher: Watcher, t0: float) -> dict[str, list[float]]:
    """When (seconds after the first create) 10, 50, 90 and 100 % of the Deployments were seen
    and ready, and of the models Ready: which side of the pipeline the fleet waits on."""
    out = {}
    marks = {"deployment seen": watcher.deployment_seen,
             "deployment ready": watcher.deployment_ready, "model Ready": watcher.model_ready}  # fmt: skip
    for what, seen in marks.items():
        times = sorted(t - t0 for name, t in seen.items() if name.startswith("m"))
        if times:
            out[what] = [round(percentile(times, q), 1) for q in (0.1, 0.5, 0.9, 1.0)]
    return out


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


def idle_calls_per_s(row: Mapping[str, Any]) -> float:
    """The operator's own API calls per second while idle (its metric, reads included); the
    API server's difference with and without the operator (noisier: the control plane's own
    retries move it) for an operator that counts none (the baseline)."""
    if "operator_idle_calls" in row:
        return float(row["operator_idle_calls"]) / IDLE_WINDOW_SECONDS
    return float(row["operator_requests_per_s"])


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| operator | N | all Ready | idle CPU (of a core) | RSS | API calls/s idle | "
            "create->Deployment p50 / p99 | Deployment ready->model Ready p50 / p99 |")  # fmt: skip
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "idle_cpu_share" not in r:
            lines.append(f"| {r['operator']} | {r['models']} | {r['converge_s']:.0f} s |"
                         " - | - | - | - | - |")  # fmt: skip
            continue
        lines.append(
            f"| {r['operator']} | {r['models']} | {r['converge_s']:.0f} s | "
            f"{100 * r['idle_cpu_share']:.1f} % | {r['rss_mib']:.0f} MiB | "
            f"{idle_calls_per_s(r):.2f} | "
            f"{1000 * r['create_to_deployment_p50_s']:.0f} / {1000 * r['create_to_deployment_p99_s']:.0f} ms | "
            f"{r['status_lag_p50_s']:.2f} / {r['status_lag_p99_s']:.2f} s |"
        )
    return "\n".join(lines)


def writes_table(rows: list[dict[str, Any]]) -> str:
    """The operator's API writes per model in each phase, by resource and verb."""
    lines = ["| operator | N | writes (resource verb) | create->all Ready | all Ready->pass saw "
             "all | idle window |", "|---|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        phases = r.get("operator_writes")
        if not phases:
            continue
        n, keys = r["models"], sorted({k for counts in phases.values() for k in counts})
        per = {p: {k: v / n for k, v in counts.items()} for p, counts in phases.items()}
        for key in [*keys, "all"]:
            cells = [
                sum(per[p].values()) if key == "all" else per[p].get(key, 0.0)
                for p in ("converge", "settle", "idle")
            ]
            lines.append(
                f"| {r['operator']} | {n} | {key} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"
            )
        every = r["apiserver_smallmodel_writes"]
        cells = [every[p] / n for p in ("converge", "settle", "idle")]
        lines.append(f"| {r['operator']} | {n} | smallmodels, every client (API server) | "
                     + " | ".join(f"{c:.2f}" for c in cells) + " |")  # fmt: skip
    return "\n".join(lines)


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
