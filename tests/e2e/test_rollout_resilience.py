"""Rollouts under trouble: Prometheus gone mid-analysis, manual rollback to an older revision, and
a full cluster with no GPU to spare. (The operator restart is in test_rollout_survives_restart.py.)"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from rollout_support import (
    ECHO,
    echo_model,
    reasons,
    revision_replicas,
    wait_phase,
    wait_serving,
    with_args,
)

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import ManagedProcess, poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e


@pytest.fixture
def prometheus(cluster: DevCluster) -> Iterator[ManagedProcess]:
    """The cluster's Prometheus process; started again (same port and data) after the test."""
    proc = next(p for p in cluster.procs.processes if p.name == "prometheus")
    try:
        yield proc
    finally:
        if not proc.alive():
            proc.start()
            url = cluster.prometheus_url

            def ready() -> bool:
                try:
                    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                        return resp.status == 200
                except OSError:
                    return False

            poll("prometheus ready again", ready, timeout=60)


def test_prometheus_stopped_mid_analysis_never_promotes(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    prometheus: ManagedProcess,
) -> None:
    rollout = {
        "steps": [{"weight": 50, "pauseSeconds": 600}],
        "inconclusiveLimit": 2,
        "metrics": {"p95TTFTSeconds": 5},
    }
    body = echo_model(namespace, "blind", rollout)
    k8s.apply(body)
    wait_serving(k8s, "blind", namespace)
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    r = wait_phase(k8s, "blind", namespace, ("Paused",), timeout=120)  # passed once, with data
    assert r["lastAnalysis"][0]["verdict"] == "pass"

    prometheus.stop()
    r = wait_phase(k8s, "blind", namespace, ("RollingBack", "RolledBack"), timeout=60)
    assert "no analysis data 3 times" in r["message"]  # inconclusiveLimit 2, the third rolls back
    assert r["lastAnalysis"][0]["verdict"] == "inconclusive"
    assert "Promoting" not in reasons(k8s, "blind", namespace)
    obj = k8s.get("SmallModel", "blind", namespace) or {}
    assert r["canaryRevision"] not in [h["revision"] for h in obj["status"]["history"]]


def test_manual_rollback_two_revisions_back_restores_it(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 100}], "analysisIntervalSeconds": 1, "analysis": "none"}
    body = echo_model(namespace, "back", rollout)
    revisions = []
    for args in ([ECHO], [ECHO, "--inter-token-latency=1ms"], [ECHO, "--inter-token-latency=2ms"]):
        k8s.apply(with_args(body, *args))
        revisions.append(wait_serving(k8s, "back", namespace)["status"]["templateHash"])
    obj = k8s.get("SmallModel", "back", namespace) or {}
    assert [h["revision"] for h in obj["status"]["history"]] == revisions[::-1]

    annotation = {"metadata": {"annotations": {"slmfleet.io/rollback-to": "2"}}}
    k8s.merge_patch("SmallModel", "back", annotation, namespace)

    def restored() -> dict[str, object] | None:
        o = k8s.get("SmallModel", "back", namespace) or {}
        return o if o["spec"]["engine"]["extraArgs"] == [ECHO] else None

    poll("spec restored to the first revision", restored, timeout=30)
    obj = wait_serving(k8s, "back", namespace, timeout=90)
    assert obj["status"]["templateHash"] == revisions[0]
    assert "slmfleet.io/rollback-to" not in (obj["metadata"].get("annotations") or {})
    assert "RollbackRequested" in reasons(k8s, "back", namespace)


def test_full_cluster_completes_in_no_surge_mode(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    # the T4 node has 4 GPUs: 4 replicas fill it, so a surge replica could never be scheduled
    rollout = {"steps": [{"weight": 25}, {"weight": 50}], "noSurge": True, "analysis": "none"}
    body = echo_model(namespace, "full", rollout, replicas=4, gpu_class="t4")

    def t4_free() -> bool:
        pods = k8s.list("Pod")
        return not any(p["spec"].get("nodeName") == "gpu-t4-0" for p in pods)

    poll("the T4 node free of other tests' pods", t4_free, timeout=120)
    k8s.apply(body)
    first = wait_serving(k8s, "full", namespace, timeout=120)["status"]["templateHash"]
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    started = wait_phase(k8s, "full", namespace, ("Progressing", "Analyzing", "Paused"))
    # step 1 at 25% of 4, no surge: ceil(1.0) = 1 canary, 3 stable, never more than 4
    assert poll("3 stable + 1 canary", lambda: revision_replicas(k8s, "full", namespace)
                == {first: 3, started["canaryRevision"]: 1})  # fmt: skip
    obj = wait_serving(k8s, "full", namespace, timeout=180)
    assert obj["status"]["rollout"]["stableRevision"] == started["canaryRevision"]
    pods = k8s.list("Pod", namespace, "slmfleet.io/model=full")
    assert all(p["spec"].get("nodeName") == "gpu-t4-0" for p in pods)
