"""The local demo fleet: a real control plane with fake GPU nodes, Prometheus and the operator.

``slmfleet dev demo`` boots it, applies the CRDs and the example GPUClasses and SmallModels, runs the
operator, prints how to reach it with kubectl, then tells the story of demo_story: a canary promoted
and one rolled back. Ctrl-C stops everything; with ``--exit-after`` it stops when the story is told
or after that many seconds, whichever comes first.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import yaml

from slmfleet.devcluster import tools
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.demo_story import MODEL, tell
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import DEMO_NODES
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import ComponentDiedError, poll
from slmfleet.devcluster.prometheus import operator_targets_path
from slmfleet.k8s import Kube

DEMO_EXAMPLES = (
    "gpuclasses.yaml",
    "smallmodel-qwen2.5-3b-l4.yaml",
    "smallmodel-qwen3-0.6b-t4.yaml",
)


def _print_banner(cluster: DevCluster, operator_log: Path, elapsed: float) -> None:
    kubectl = tools.binary_path("kubectl")
    print(
        f"""
slmfleet demo fleet is up ({elapsed:.0f}s).

  export KUBECONFIG={cluster.kubeconfig}
  alias kubectl={kubectl}       # or any kubectl >= 1.31
  kubectl get nodes -L nvidia.com/gpu.product
  kubectl get gpuclasses
  kubectl get smallmodels -A      # short name: sm; $/1M TOK once the model has served
  kubectl-slm top -A              # the fleet: tokens/s, KV use, p95 TTFT, errors, $/1M tokens
                                  # (with SLMFLEET_PROMETHEUS_URL={cluster.prometheus_url})
  kubectl get pods -o wide        # pod IPs answer: curl http://POD_IP:8000/v1/models
  kubectl get pods -l app.kubernetes.io/name=slmfleet-router -o wide
                                  # the router: curl http://ROUTER_IP:8080/v1/models

  Prometheus:     {cluster.prometheus_url}
  Operator log:   {operator_log}
  All logs:       {cluster.workdir / "logs"}

Then it rolls two changes to qwen3-0.6b out as canaries: one is promoted, one rolled back,
and prints what each model cost per million tokens.
Press Ctrl-C to stop everything.""",
        flush=True,
    )


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
    operator = OperatorProcess(
        cluster.workdir / "kubeconfig",
        cluster.workdir / "logs",
        metrics_target=operator_targets_path(cluster.workdir),  # the demo's Prometheus scrapes it
    )
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
        operator.env["SLMFLEET_COST_STATUS_SECONDS"] = "10"  # $/1M shows soon after traffic
        process = operator.start()
        _print_banner(cluster, process.log_path, time.monotonic() - started)
        deadline = None if exit_after is None else started + exit_after

        def keep_going() -> bool:
            cluster.check()
            operator.check()
            return not stop and (deadline is None or time.monotonic() < deadline)

        poll("qwen3-0.6b Ready", lambda: _ready(kube, MODEL), timeout=120)
        finished = tell(kube, keep_going)
        print("\nThe story is complete." if finished else "\nStopped before the end.", flush=True)
        if finished:
            _wait_for_cost(kube, keep_going)
        _print_models(kube)
        while exit_after is None and keep_going():  # without --exit-after: until Ctrl-C
            time.sleep(1)
        if exit_after is not None and not finished:
            return 1
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


def _cost_per_1m(kube: Kube, name: str) -> float | None:
    model = kube.get("SmallModel", name, "default") or {}
    window = ((model.get("status") or {}).get("cost") or {}).get("window") or {}
    value = window.get("costPer1MTokens")
    return float(value) if isinstance(value, int | float) else None


def _wait_for_cost(kube: Kube, keep_going: Callable[[], bool]) -> None:
    """Until the model the story sent traffic to shows its $/1M tokens (the operator writes
    status.cost every 10 s here), for at most a minute."""
    deadline = time.monotonic() + 60
    while _cost_per_1m(kube, MODEL) is None and keep_going() and time.monotonic() < deadline:
        time.sleep(1)


def _print_models(kube: Kube) -> None:
    for model in kube.list("SmallModel"):
        meta, status = model["metadata"], model.get("status") or {}
        cost = status.get("cost") or {}
        window = cost.get("window") or {}
        summary = {
            "phase": status.get("phase"),
            "readyReplicas": status.get("readyReplicas"),
            "fits": (status.get("plan") or {}).get("fits"),
            "tokens": (window.get("promptTokens") or 0) + (window.get("generationTokens") or 0),
            "costPer1MTokens": window.get("costPer1MTokens"),
            "cost": cost.get("reason"),
        }
        print(
            f"{meta['namespace']}/{meta['name']}: {yaml.safe_dump(summary, default_flow_style=True)}",
            end="",
        )
