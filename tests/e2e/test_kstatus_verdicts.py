"""GitOps tools see every rollout state: the real kstatus library (what Flux and `kubectl wait`
judge by, built from hack/tools/kstatus) reads one SmallModel at each state it goes through.

serving -> canary held at a step -> spec.paused -> aborted -> retried -> automatically rolled back
(p95 TTFT over its threshold) -> canary never ready (progress deadline) -> does not fit.

With SLMFLEET_RECORD_KSTATUS=1 each object is saved in tests/data/kstatus/<state>.json with its
verdict; tests/unit/test_kstatus_recorded.py reads those without a cluster.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kstatus_oracle import kstatus, record
from rollout_support import ECHO, describe, echo_model, with_args

from slmfleet.api.parse import parse_smallmodel
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube
from slmfleet.reconcile.rollout_conditions import conditions_stale

pytestmark = pytest.mark.e2e

NAME = "gitops"
CANARY_REASONS = ("CanaryProgressing", "Analyzing", "StepHeld")


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def judge(
    k8s: Kube,
    namespace: str,
    state: str,
    reasons: tuple[str, ...],
    want: str,
    rollout_phases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Wait until the conditions reach ``state`` (Ready's reason, the generation observed), then
    ask kstatus about that very object; record it when asked to."""

    def reached() -> dict[str, Any] | None:
        obj = k8s.get("SmallModel", NAME, namespace) or {}
        status = obj.get("status") or {}
        phase = (status.get("rollout") or {}).get("phase")
        ok = (
            status.get("observedGeneration") == obj.get("metadata", {}).get("generation")
            and _ready(obj).get("reason") in reasons
            and (not rollout_phases or phase in rollout_phases)
            # the conditions say what status.rollout says now (the reconcile caught up with it)
            and not conditions_stale(parse_smallmodel(obj), status.get("conditions") or [])
        )
        return obj if ok else None

    try:
        obj = poll(f"{NAME} {state} ({reasons})", reached, timeout=150)
    except TimeoutError as err:
        raise TimeoutError(f"{err}; status: {describe(k8s, NAME, namespace)}") from None
    verdict = kstatus(obj)
    record(state, obj, verdict)
    conditions = obj["status"]["conditions"]
    assert verdict["status"] == want, f"{state}: kstatus {verdict}; conditions {conditions}"
    return verdict


def annotate(k8s: Kube, namespace: str, key: str) -> None:
    patch = {"metadata": {"annotations": {f"slmfleet.io/{key}": "true"}}}
    k8s.merge_patch("SmallModel", NAME, patch, namespace)


def set_paused(k8s: Kube, namespace: str, paused: bool) -> None:
    k8s.merge_patch("SmallModel", NAME, {"spec": {"paused": paused}}, namespace)


def test_kstatus_verdict_at_every_rollout_state(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {
        "steps": [{"weight": 50, "pauseSeconds": 3600}],  # a good canary holds its step
        "failureLimit": 0,
        "metrics": {"p95TTFTSeconds": 0.5},
        "progressDeadlineSeconds": 20,
    }
    body = echo_model(namespace, NAME, rollout)
    k8s.apply(body)
    judge(k8s, namespace, "serving", ("Available",), "Current", ("Succeeded",))

    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    held = judge(k8s, namespace, "canary-step-held", ("StepHeld",), "InProgress", ("Paused",))
    assert "50%" in held["message"] and "holding" in held["message"]

    set_paused(k8s, namespace, True)
    paused = judge(k8s, namespace, "paused", ("Paused",), "InProgress")
    assert "spec.paused" in paused["message"]
    set_paused(k8s, namespace, False)

    annotate(k8s, namespace, "abort")
    aborted = judge(k8s, namespace, "aborted", ("Aborted",), "Failed", ("RolledBack",))
    assert "aborted by user" in aborted["message"]

    annotate(k8s, namespace, "retry")
    judge(k8s, namespace, "retried", CANARY_REASONS, "InProgress")

    k8s.apply(with_args(body, ECHO, "--time-to-first-token=1500ms"))
    rolled = judge(k8s, namespace, "rolled-back", ("RolledBack",), "Failed", ("RolledBack",))
    assert "p95TTFTSeconds=" in rolled["message"] and "threshold <= 0.5" in rolled["message"]
    assert "slmfleet.io/retry" in rolled["message"]

    # the simulator refuses an unknown mode and exits: the canary never turns Ready
    stuck = with_args(body, "--mode=nonsense")
    k8s.apply(stuck)
    late = judge(
        k8s,
        namespace,
        "progress-deadline",
        ("ProgressDeadlineExceeded",),
        "Failed",
        ("RolledBack",),
    )
    assert "20s progress deadline" in late["message"]

    too_big = copy.deepcopy(stuck)
    too_big["spec"]["maxNumSeqs"] = 4096  # runtime overhead past the L4's memory
    k8s.apply(too_big)
    unfit = judge(k8s, namespace, "does-not-fit", ("DoesNotFit",), "Failed")
    assert "exceed" in unfit["message"]
