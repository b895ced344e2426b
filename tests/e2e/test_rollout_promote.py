"""A good change walks every canary step on the real control plane, Prometheus and simulator."""

from __future__ import annotations

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

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e


def test_good_change_promotes_through_all_steps(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {
        "steps": [{"weight": 34}, {"weight": 67}],
        "failureLimit": 0,
        "metrics": {"p95TTFTSeconds": 0.5, "errorRate": 0.05},
    }
    body = echo_model(namespace, "good", rollout)
    k8s.apply(body)
    first = wait_serving(k8s, "good", namespace)["status"]["templateHash"]

    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    started = wait_phase(k8s, "good", namespace, ("Progressing", "Analyzing"))
    canary = started["canaryRevision"]
    assert canary != first and started["stableRevision"] == first
    # step 1 at 34% of 2 replicas: ceil(0.68) = 1 canary beside the whole stable
    assert poll("1 canary + 2 stable", lambda: revision_replicas(k8s, "good", namespace)
                == {first: 2, canary: 1})  # fmt: skip

    obj = wait_serving(k8s, "good", namespace, timeout=120)
    r = obj["status"]["rollout"]
    assert r["stableRevision"] == canary and "canaryRevision" not in r
    assert {c["name"]: c["verdict"] for c in r["lastAnalysis"]} == {
        "p95TTFTSeconds": "pass",
        "errorRate": "pass",
    }
    assert [h["revision"] for h in obj["status"]["history"]] == [canary, first]
    assert {"RolloutStarted", "StepAdvanced", "Promoting", "RolloutSucceeded"} <= reasons(
        k8s, "good", namespace
    )
    assert poll("old revision removed", lambda: revision_replicas(k8s, "good", namespace)
                == {canary: 2})  # fmt: skip
