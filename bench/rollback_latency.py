"""Rollback latency: time from a breached threshold to 100% of traffic on the stable revision,
reported against the analysis interval. Goal: within one interval plus 5 seconds.

    python bench/rollback_latency.py [--intervals 3 5 10] [--runs 2] [--out bench/results/rollback.md]

Runs on the local dev cluster (control plane, kwok GPU nodes, simulator-backed pods, Prometheus)
with the real operator. For each analysis interval: a two-replica echo model serves, a canary
(one replica beside one stable) passes its p95 time-to-first-token check and holds its step; then
the threshold is lowered below what the canary measures. That patch is the breach (it changes no
revision). The clock stops when the canary Deployment is at 0 replicas and no canary pod is left
ready, with the stable revision at its full replica count: every request now reaches stable.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from kopf.testing import KopfRunner

from slmfleet.config import settings
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.processes import poll
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


def one_run(k8s: Kube, ns: str, name: str, interval: int) -> float:
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
    # the breach: ~0.2 s TTFT measured, threshold lowered to 0.05 s
    k8s.merge_patch(
        "SmallModel", name, {"spec": {"rollout": {"metrics": {"p95TTFTSeconds": 0.05}}}}, ns
    )
    breached = time.monotonic()
    poll("100% on stable", lambda: canary_gone(k8s, name, ns, canary, stable), 120, 0.1)
    took = time.monotonic() - breached
    k8s.delete("SmallModel", name, ns)
    return took


def report(rows: list[tuple[int, float]], out: Path) -> str:
    lines = [
        "# Rollback latency",
        "",
        f"Time from a breached threshold to 100% traffic on stable, on the local dev cluster "
        f"({platform.machine()}, {os.cpu_count()} CPUs). Goal: at most one analysis interval "
        f"+ {SLACK_SECONDS:g} s. Produced by `bench/rollback_latency.py`.",
        "",
        "| interval (s) | latency (s) | latency / interval | within interval + 5 s |",
        "|---:|---:|---:|:---:|",
    ]
    for interval, took in rows:
        ok = "yes" if took <= interval + SLACK_SECONDS else "no"
        lines.append(f"| {interval} | {took:.1f} | {took / interval:.2f} | {ok} |")
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
    rows: list[tuple[int, float]] = []
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
                    took = one_run(k8s, "bench", f"rb-{interval}-{run}", interval)
                    print(f"interval {interval}s: {took:.1f}s", file=sys.stderr)
                    rows.append((interval, took))
    print(report(rows, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
