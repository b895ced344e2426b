"""The local demo fleet: a real control plane with fake GPU nodes, Prometheus and the operator.

``slmfleet dev demo`` boots it, applies the CRDs and the example GPUClasses and SmallModels, runs the
operator, and prints how to reach it with kubectl. Ctrl-C (or ``--exit-after``) stops everything.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from types import FrameType

import yaml

from slmfleet.devcluster import tools
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import DEMO_NODES
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import ComponentDiedError, poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

DEMO_EXAMPLES = (
    "gpuclasses.yaml",
    "smallmodel-qwen2.5-3b-l4.yaml",
    "smallmodel-qwen3-0.6b-t4.yaml",
)


def _print_banner(cluster: DevCluster, elapsed: float) -> None:
    kubectl = tools.binary_path("kubectl")
    print(
        f"""
slmfleet demo fleet is up ({elapsed:.0f}s).

  export KUBECONFIG={cluster.kubeconfig}
  alias kubectl={kubectl}       # or any kubectl >= 1.31
  kubectl get nodes -L nvidia.com/gpu.product
  kubectl get gpuclasses
  kubectl get smallmodels -A      # short name: sm
  kubectl get pods -o wide        # pod IPs answer: curl http://POD_IP:8000/v1/models
  kubectl get pods -l app.kubernetes.io/name=slmfleet-router -o wide
                                  # the router: curl http://ROUTER_IP:8080/v1/models

  Prometheus:     {cluster.prometheus_url}
  Operator log:   {cluster.workdir / "logs" / "operator.log"}
  All logs:       {cluster.workdir / "logs"}

Press Ctrl-C to stop everything.""",
        flush=True,
    )


# The change the demo rolls out: a longer context for qwen3-0.6b, in two quick canary steps.
DEMO_CHANGE = {
    "spec": {
        "maxModelLen": 8192,
        "rollout": {
            "steps": [{"weight": 50, "pauseSeconds": 10}, {"weight": 100}],
            "analysisIntervalSeconds": 5,
            "metrics": {"p95TTFTSeconds": 2.0, "errorRate": 0.05},
        },
    }
}


def _rollout_line(kube: Kube) -> str | None:
    model = kube.get("SmallModel", "qwen3-0.6b", "default") or {}
    rollout = (model.get("status") or {}).get("rollout")
    if not rollout:
        return None
    checks = ", ".join(
        f"{c['name']}={c.get('value')} {c['verdict']}" for c in rollout.get("lastAnalysis") or []
    )
    return (
        f"  rollout of qwen3-0.6b: {rollout.get('phase')} step {rollout.get('step')} "
        f"weight {rollout.get('weight')}% {checks}"
    )


def _router_split(kube: Kube, model: str, count: int = 20) -> str:
    """Send ``count`` completions through the namespace's router; say which revisions answered."""
    ips = router_ips(kube, "default")
    if not ips:
        return "no router pod is ready yet"
    seen: Counter[str] = Counter()
    body = json.dumps({"model": model, "prompt": "demo", "max_tokens": 2}).encode()
    for i in range(count):
        url = f"http://{ips[i % len(ips)]}:8080/v1/completions"
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                seen[resp.headers.get("x-slmfleet-revision", "?")] += 1
        except OSError:
            seen["failed"] += 1
    return ", ".join(f"{rev} {n}" for rev, n in sorted(seen.items()))


def run_demo(exit_after: float | None = None, workdir: str | None = None) -> int:
    started = time.monotonic()
    try:
        tools.ensure(log=lambda line: print(line, flush=True))
    except tools.ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    folder = Path(workdir) if workdir else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    cluster = DevCluster(DEMO_NODES, workdir=folder, keep_workdir=True)
    operator = OperatorProcess(cluster.workdir / "kubeconfig", cluster.workdir / "logs")
    stop = False

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start()
        kube = Kube(cluster.api_client())
        apply_crds(kube)
        examples = repo_root() / "manifests" / "examples"
        apply_files(kube, [examples / name for name in DEMO_EXAMPLES], namespace="default")
        operator.env["SLMFLEET_PROMETHEUS_URL"] = cluster.prometheus_url or ""
        operator.start()
        _print_banner(cluster, time.monotonic() - started)
        poll("qwen3-0.6b Ready", lambda: _ready(kube, "qwen3-0.6b"), timeout=120)
        print("\nRolling out a change to qwen3-0.6b (maxModelLen 16384 -> 8192) as a canary:")
        kube.merge_patch("SmallModel", "qwen3-0.6b", DEMO_CHANGE, "default")
        last: str | None = None
        deadline = None if exit_after is None else time.monotonic() + exit_after
        while not stop and (deadline is None or time.monotonic() < deadline):
            cluster.check()
            operator.check()
            line = _rollout_line(kube)
            if line and line != last:
                split = _router_split(kube, "qwen3-small")
                print(line + (f"\n    router, 20 requests by revision: {split}" if split else ""),
                      flush=True)  # fmt: skip
                last = line
            time.sleep(1)
        _print_models(kube)
    except ComponentDiedError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        operator.stop()
        cluster.stop()
        print("demo stopped; every process it started has exited.", flush=True)
    return 0


def _ready(kube: Kube, name: str) -> bool:
    model = kube.get("SmallModel", name, "default") or {}
    conditions = (model.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _print_models(kube: Kube) -> None:
    for model in kube.list("SmallModel"):
        meta, status = model["metadata"], model.get("status") or {}
        summary = {
            "phase": status.get("phase"),
            "readyReplicas": status.get("readyReplicas"),
            "fits": (status.get("plan") or {}).get("fits"),
        }
        print(
            f"{meta['namespace']}/{meta['name']}: {yaml.safe_dump(summary, default_flow_style=True)}",
            end="",
        )
