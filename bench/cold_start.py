"""Cold start with and without the weight cache: time from a change to a serving pod.

    python bench/cold_start.py [--rate-mib 10] [--out bench/results/cold-start.md]

Runs on the local dev cluster with the real operator and the Hub stand-in (a generated snapshot
of 42 MiB: config, tokenizer and three safetensors shards, each served at ``--rate-mib`` MiB/s
per connection). The pod backer makes an engine without a cache download its snapshot before
it serves, as vLLM does, and an engine with one load offline from the claim. For each setting,
three steps of one model are timed, each from the change to its new pod Ready (polled every
0.1 s): the first replica, a second replica (scale to 2), and a canary of the same repo and
revision (another engine flag). The bytes the stand-in served in each step are counted.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.hub import MIB, STAND_IN_REPO, STAND_IN_REVISIONS, HubStandIn, stand_in
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube
from slmfleet.reconcile.endpoints import pod_ready

EXAMPLES = repo_root() / "manifests" / "examples"
STEPS = ("first replica", "second replica", "canary, same revision")


def model(namespace: str, revision: str, cache: bool) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": "qwen", "namespace": namespace}
    body["spec"].update(
        gpuClassName="l4",
        source={"huggingFace": {"repo": STAND_IN_REPO, "revision": revision}},
        replicas=1,
        minReplicas=1,
        maxReplicas=2,
        engine={"extraArgs": ["--mode=echo"]},
        rollout={"steps": [{"weight": 50}], "analysis": "none"},
    )
    if cache:
        body["spec"]["cache"] = {}
    return dict(body)


def ready_pods(k8s: Kube, namespace: str) -> set[str]:
    pods = k8s.list("Pod", namespace, "slmfleet.io/model=qwen")
    return {p["metadata"]["name"] for p in pods if pod_ready(p)}


def timed(k8s: Kube, hub: HubStandIn, namespace: str, body: dict[str, Any]) -> tuple[float, int]:
    """Seconds from applying ``body`` to a pod Ready that was not before; bytes served."""
    before, served = ready_pods(k8s, namespace), hub.bytes_served
    start = time.monotonic()
    k8s.apply(body)
    poll("a new pod Ready", lambda: ready_pods(k8s, namespace) - before, 300, interval=0.1)
    return time.monotonic() - start, hub.bytes_served - served


def scenario(k8s: Kube, hub: HubStandIn, namespace: str, revision: str, cache: bool) -> list[Any]:
    k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    body = model(namespace, revision, cache)
    rows = [timed(k8s, hub, namespace, body)]
    body = copy.deepcopy(body)
    body["spec"]["replicas"] = 2
    rows.append(timed(k8s, hub, namespace, body))
    poll("2 ready", lambda: len(ready_pods(k8s, namespace)) == 2, 120)
    body = copy.deepcopy(body)
    body["spec"]["engine"]["extraArgs"] = ["--mode=echo", "--inter-token-latency=1ms"]
    rows.append(timed(k8s, hub, namespace, body))
    status = (k8s.get("SmallModel", "qwen", namespace) or {}).get("status") or {}
    return [rows, status.get("coldStarts") or []]


def report(results: dict[str, list[Any]], rate: float, out: Path) -> str:
    lines = [
        "# Cold start with and without the weight cache",
        "",
        "`python bench/cold_start.py` on the local cluster (kwok nodes, the simulator as the "
        f"engine), {platform.machine()} with {os.cpu_count()} cores, shared with other work. "
        f"Snapshot: 42 MiB (three safetensors shards) from the Hub stand-in at {rate:g} MiB/s "
        "per connection. Each time runs from the change (apply or scale) to the new pod Ready.",
        "",
        "| step | no cache: seconds | no cache: MiB from the Hub | cache: seconds | cache: MiB from the Hub |",
        "|---|---|---|---|---|",
    ]
    plain, cached = results["no cache"][0], results["cache"][0]
    for step, (a, b) in zip(STEPS, zip(plain, cached, strict=True), strict=True):
        lines.append(f"| {step} | {a[0]:.1f} | {a[1] / MIB:.1f} | {b[0]:.1f} | {b[1] / MIB:.1f} |")
    lines += [
        "",
        "What the operator recorded (`status.coldStarts`, whole seconds: pod timestamps):",
        "",
    ]
    lines += [
        "| setting | revision | download | schedule | load | total |",
        "|---|---|---|---|---|---|",
    ]
    for name, (_, starts) in results.items():
        for s in reversed(starts):
            lines.append(
                f"| {name} | {s.get('revision')} | {s.get('downloadSeconds', '-')} | "
                f"{s.get('scheduleSeconds', '-')} | {s.get('loadSeconds', '-')} | "
                f"{s.get('totalSeconds', '-')} |"
            )
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate-mib", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=repo_root() / "bench/results/cold-start.md")
    args = parser.parse_args(argv)
    nodes = (
        FakeGPUNode("gpu-l4-0", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
        FakeGPUNode("gpu-l4-1", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    )
    results: dict[str, list[Any]] = {}
    with (
        stand_in(args.rate_mib * MIB) as hub,
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(nodes, workdir=Path(tmp), prometheus=False, hub_endpoint=hub.url) as dev,
    ):
        k8s = Kube(dev.api_client())
        apply_crds(k8s)
        apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
        env = {"HF_HUB_OFFLINE": "1", "SLMFLEET_HF_ENDPOINT": hub.url}
        operator = OperatorProcess(dev.kubeconfig, Path(tmp) / "logs", env)
        operator.start()
        try:
            for i, (name, cache) in enumerate((("no cache", False), ("cache", True))):
                results[name] = scenario(k8s, hub, f"bench-{i}", STAND_IN_REVISIONS[i], cache)
                print(name, results[name][0], file=sys.stderr)
        finally:
            operator.stop()
    print(report(results, args.rate_mib, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
