"""Bad canaries roll back on their own: latency, wrong answers, injected failures, and a canary
that never gets ready (the progress deadline).

Each rollback must leave the spec as written, put 100% of traffic on stable (canary scaled to 0),
say which check failed with its value and threshold, and post a Warning Event.
"""

from __future__ import annotations

from typing import Any

import pytest
from rollout_support import (
    ECHO,
    echo_model,
    events,
    revision_replicas,
    wait_phase,
    wait_serving,
    with_args,
)

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

ECHO_SUITE_CASES = [
    {"name": f"echo-{i}", "prompt": p, "expected": p, "checker": "exact", "maxTokens": 32}
    for i, p in enumerate(["hello there", "the sky is blue", "one two three"])
]


def roll_back(
    k8s: Kube,
    namespace: str,
    name: str,
    rollout: dict[str, Any],
    *bad_args: str,
    reason: str = "RolledBack",
) -> dict[str, Any]:
    body = echo_model(namespace, name, rollout)
    k8s.apply(body)
    stable = wait_serving(k8s, name, namespace)["status"]["templateHash"]
    bad = with_args(body, *bad_args)
    k8s.apply(bad)
    r = wait_phase(k8s, name, namespace, ("RolledBack",), timeout=120)
    assert r["stableRevision"] == stable and r["failedRevision"] == r["canaryRevision"]
    canary = r["canaryRevision"]
    assert poll(
        "canary at 0, stable at 2",
        lambda: revision_replicas(k8s, name, namespace) == {stable: 2, canary: 0},
    )
    obj = k8s.get("SmallModel", name, namespace) or {}
    assert obj["spec"]["engine"]["extraArgs"] == list(bad_args)  # the spec is left as written
    warnings = [e for e in events(k8s, name, namespace) if e["type"] == "Warning"]
    assert any(e["reason"] == reason for e in warnings), [e["reason"] for e in warnings]
    return r


def test_slow_canary_rolls_back_on_latency(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "metrics": {"p95TTFTSeconds": 0.5}}
    r = roll_back(k8s, namespace, "slow", rollout, ECHO, "--time-to-first-token=1500ms")
    check = next(c for c in r["lastAnalysis"] if c["name"] == "p95TTFTSeconds")
    assert check["verdict"] == "fail" and check["value"] > 0.5 and check["threshold"] == "<= 0.5"
    assert "p95TTFTSeconds=" in r["message"] and "threshold <= 0.5" in r["message"]


def test_wrong_answers_roll_back_on_quality(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    k8s.apply(
        {
            "apiVersion": "slmfleet.io/v1alpha1",
            "kind": "EvalSuite",
            "metadata": {"name": "echo", "namespace": namespace},
            "spec": {"passThreshold": 1.0, "cases": ECHO_SUITE_CASES},
        }
    )
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "evalSuiteRef": "echo"}
    r = roll_back(k8s, namespace, "wrong", rollout, "--mode=random")
    evaluation = r["lastEval"]
    assert evaluation["verdict"] == "fail" and evaluation["score"] < 1.0
    assert evaluation["failedCases"]
    assert "eval echo" in r["message"]


def test_injected_failures_roll_back_on_errors(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "metrics": {"errorRate": 0.1}}
    r = roll_back(k8s, namespace, "failing", rollout, ECHO, "--failure-injection-rate=100")
    check = next(c for c in r["lastAnalysis"] if c["name"] == "errorRate")
    assert check["verdict"] == "fail" and check["value"] == 1.0  # every probe request failed


def test_rolled_back_revision_is_not_retried_until_asked(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "metrics": {"errorRate": 0.1}}
    r = roll_back(k8s, namespace, "retry", rollout, ECHO, "--failure-injection-rate=100")
    k8s.merge_patch(
        "SmallModel",
        "retry",
        {"metadata": {"annotations": {"slmfleet.io/retry": "true"}}},
        namespace,
    )
    again = wait_phase(k8s, "retry", namespace, ("Progressing", "Analyzing"), timeout=30)
    assert again["canaryRevision"] == r["canaryRevision"]
    obj = k8s.get("SmallModel", "retry", namespace) or {}
    assert "slmfleet.io/retry" not in (obj["metadata"].get("annotations") or {})
    wait_phase(k8s, "retry", namespace, ("RolledBack",), timeout=120)


def test_canary_that_never_gets_ready_rolls_back_at_the_progress_deadline(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    # the simulator refuses an unknown mode and exits: the canary's pod never turns Ready
    rollout = {"steps": [{"weight": 50}], "progressDeadlineSeconds": 15}
    r = roll_back(
        k8s, namespace, "stuck", rollout, "--mode=nonsense", reason="ProgressDeadlineExceeded"
    )
    assert not r.get("lastAnalysis")  # it never got to an analysis
    assert "progress deadline" in r["message"] and "0/1" in r["message"]
