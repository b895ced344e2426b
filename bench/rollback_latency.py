"""Rollback latency: time from a breached threshold to 100% of traffic on the stable revision,
reported against the analysis interval. Goal: within one interval plus 5 seconds.

    python bench/rollback_latency.py [--intervals 3 5 10] [--runs 2] [--out bench/results/rollback.md]

Runs on the local dev cluster (control plane, kwok GPU nodes, simulator-backed pods, Prometheus)
with the real operator. For each analysis interval: a two-replica echo model serves, a canary
(one replica beside one stable) passes its p95 time-to-first-token check and holds its step; then
the threshold is lowered below what the canary measures. That patch is the breach (it changes no
revision). Two clocks stop:

- router: a client sends completions through the namespace's slmfleet router (the default traffic
  provider) all along; this is the time of the last answer the canary gave after the breach
  (the response header names the revision). After it, every request reaches stable.
- pods: the canary Deployment is at 0 replicas and no canary pod is left ready, with the stable
  revision at its full replica count (what a client calling the Service directly waits for).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kopf.testing import KopfRunner

from slmfleet.config import settings
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

EXAMPLES = repo_root() / "manifests" / "examples"
SLACK_SECONDS = 5.0


def model(namespace: str, name: str, interval: int, args: list[str]) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(
        replicas=2,
        maxReplicas=2,
        engine={"extraArgs": args},
        rollout={
            "steps": [{"weight": 50, "pauseSeconds": 3600}],
            "analysisIntervalSeconds": interval,
            "failureLimit": 0,
            "inconclusiveLimit": 10,
            "metrics": {"p95TTFTSeconds": 5.0},
        },
    )
    return dict(body)


def rollout(k8s: Kube, name: str, ns: str) -> dict[str, Any]:
    return dict(((k8s.get("SmallModel", name, ns) or {}).get("status") or {}).get("rollout") or {})


def canary_gone(k8s: Kube, name: str, ns: str, canary: str, stable: str) -> bool:
    pods = k8s.list("Pod", ns, f"slmfleet.io/model={name}")

    def ready(p: dict[str, Any]) -> bool:
        conds = (p.get("status") or {}).get("conditions") or []
        alive = not p["metadata"].get("deletionTimestamp")
        return alive and any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    by_rev: dict[str, int] = {}
    for p in pods:
        if ready(p):
            rev = p["metadata"]["labels"].get("slmfleet.io/revision", "")
            by_rev[rev] = by_rev.get(rev, 0) + 1
    return by_rev.get(canary, 0) == 0 and by_rev.get(stable, 0) == 2


class RouterClient(threading.Thread):
    """Sends completions through the router one after another; records (time, revision)."""

    def __init__(self, url: str, model: str) -> None:
        super().__init__(daemon=True)
        self.url, self.model = url, model
        self.answers: list[tuple[float, str]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        body = json.dumps({"model": self.model, "prompt": "hi", "max_tokens": 1}).encode()
        while not self.stopped.is_set():
            request = urllib.request.Request(
                f"{self.url}/v1/completions", body, {"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    revision = resp.headers.get("x-slmfleet-revision", "")
                    self.answers.append((time.monotonic(), revision))
            except OSError:
                self.stopped.wait(0.05)

    def seen(self, revision: str) -> bool:
        return any(rev == revision for _, rev in self.answers)

    def last(self, revision: str) -> float | None:
        times = [t for t, rev in self.answers if rev == revision]
        return max(times) if times else None


def one_run(k8s: Kube, ns: str, name: str, interval: int) -> tuple[float, float]:
    body = model(ns, name, interval, ["--mode=echo", "--time-to-first-token=200ms"])
    k8s.apply(body)
    poll("stable serving", lambda: rollout(k8s, name, ns).get("phase") == "Succeeded", 120)
    body["spec"]["engine"]["extraArgs"] = ["--mode=echo", "--time-to-first-token=201ms"]
    k8s.apply(body)

    def paused() -> dict[str, Any] | None:
        r = rollout(k8s, name, ns)
        return r if r.get("phase") == "Paused" else None

    r = poll("canary holding its step", paused, 180)
    assert r is not None
    canary, stable = r["canaryRevision"], r["stableRevision"]
    ips = poll("a ready router", lambda: router_ips(k8s, ns), 60)
    client = RouterClient(f"http://{ips[0]}:8080", body["spec"]["servedModelName"])
    client.start()
    poll("the router sending requests to the canary", lambda: client.seen(canary), 60, 0.1)
    # the breach: ~0.2 s TTFT measured, threshold lowered to 0.05 s
    k8s.merge_patch(
        "SmallModel", name, {"spec": {"rollout": {"metrics": {"p95TTFTSeconds": 0.05}}}}, ns
    )
    breached = time.monotonic()
    poll("canary pods gone", lambda: canary_gone(k8s, name, ns, canary, stable), 120, 0.1)
    pods_took = time.monotonic() - breached
    time.sleep(1.0)  # answers keep coming: any late canary answer would show here
    client.stopped.set()
    client.join(timeout=15)
    last = client.last(canary)
    router_took = max(0.0, (last or breached) - breached)
    k8s.delete("SmallModel", name, ns)
    return router_took, pods_took


def report(rows: list[tuple[int, float, float]], out: Path) -> str:
    lines = [
        "# Rollback latency",
        "",
        f"Time from a breached threshold to 100% traffic on stable, on the local dev cluster "
        f"({platform.machine()}, {os.cpu_count()} CPUs). Goal: at most one analysis interval "
        f"+ {SLACK_SECONDS:g} s. Produced by `bench/rollback_latency.py`.",
        "",
        "router: the last answer from the canary through the router after the breach. pods: the "
        "canary's pods gone, stable at full replicas.",
        "",
        "| interval (s) | router (s) | router / interval | pods (s) | pods / interval "
        "| router within interval + 5 s |",
        "|---:|---:|---:|---:|---:|:---:|",
    ]
    for interval, router, pods in rows:
        ok = "yes" if router <= interval + SLACK_SECONDS else "no"
        lines.append(
            f"| {interval} | {router:.1f} | {router / interval:.2f} | {pods:.1f} "
            f"| {pods / interval:.2f} | {ok} |"
        )
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, nargs="+", default=[3, 5, 10])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=repo_root() / "bench/results/rollback.md")
    args = parser.parse_args(argv)
    nodes = (FakeGPUNode("gpu-t4-0", "Tesla-T4", gpus=4, gpu_memory_mib=15360),)
    rows: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, DevCluster(nodes, workdir=Path(tmp)) as dev:
        os.environ.update(
            KUBECONFIG=str(dev.kubeconfig),
            HF_HUB_OFFLINE="1",
            SLMFLEET_PROMETHEUS_URL=dev.prometheus_url or "",
            SLMFLEET_PROMETHEUS_SCRAPE_SECONDS="1",
        )
        settings.cache_clear()
        k8s = Kube(dev.api_client())
        apply_crds(k8s)
        apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
        k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        runner = KopfRunner(["run", "--standalone", "--all-namespaces", "-m", "slmfleet.main"])
        with runner:
            for interval in args.intervals:
                for run in range(args.runs):
                    router, pods = one_run(k8s, "bench", f"rb-{interval}-{run}", interval)
                    print(f"interval {interval}s: router {router:.1f}s, pods {pods:.1f}s",
                          file=sys.stderr)  # fmt: skip
                    rows.append((interval, router, pods))
    print(report(rows, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
