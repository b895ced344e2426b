"""Each rollout phase maps to one kstatus verdict: in flight is Reconciling, rolled back is Stalled."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kstatus_rules import kstatus

from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel import SmallModel
from slmfleet.conditions import Verdict, conditions_for
from slmfleet.reconcile.rollout_conditions import conditions_stale, rollout_verdict

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
CANARY = "c4n4ry"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def model(rollout: dict[str, Any] | None, paused: bool = False) -> SmallModel:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"].update({"namespace": "team", "uid": "u", "generation": 1})
    body["spec"]["paused"] = paused
    body["status"] = {"templateHash": CANARY, "rollout": rollout}
    return parse_smallmodel(body)


def rollout(phase: str, **kw: Any) -> dict[str, Any]:
    base = {"phase": phase, "stableRevision": "st4bl3", "canaryRevision": CANARY, "weight": 25}
    return {**base, "step": 1, **kw}


ROLLED_BACK = {
    "failedRevision": CANARY,
    "weight": 0,
    "rollbackReason": "RolledBack",
    "rollbackMessage": "p95TTFTSeconds=2.4 (threshold <= 0.5)",
    "message": "rolled back: p95TTFTSeconds=2.4 (threshold <= 0.5)",
}
DEADLINE = {
    **ROLLED_BACK,
    "rollbackReason": "ProgressDeadlineExceeded",
    "rollbackMessage": "canary replicas 0/1 ready after the 15s progress deadline",
}
ABORTED = {**ROLLED_BACK, "rollbackReason": "RolloutAborted", "rollbackMessage": "aborted by user"}
FAILED = {**ROLLED_BACK, "message": "rollback stalled: stable st4bl3 has 1/2 ready replicas"}


def verdict_of(status: dict[str, Any] | None, paused: bool = False) -> tuple[Verdict, str]:
    got = rollout_verdict(model(status, paused), CANARY)
    assert got is not None
    return got


@pytest.mark.parametrize(
    ("status", "paused", "reason", "phase", "kstatus_says", "words"),
    [
        (rollout("Progressing"), False, "CanaryProgressing", "Progressing", "InProgress", "25%"),
        (
            rollout("Progressing", message="step 2/3: 25% to c4n4ry"),
            False,
            "CanaryProgressing",
            "Progressing",
            "InProgress",
            "canary c4n4ry beside st4bl3, step 2/3: 25% to c4n4ry",
        ),
        (rollout("Analyzing"), False, "Analyzing", "Progressing", "InProgress", "step 2/3"),
        (
            rollout("Paused", message="step 2 passed; holding 40s more"),
            False,
            "StepHeld",
            "Progressing",
            "InProgress",
            "holding the step's 300s pause",
        ),
        (rollout("Analyzing"), True, "Paused", "Progressing", "InProgress", "spec.paused"),
        (rollout("Paused"), True, "Paused", "Progressing", "InProgress", "slmfleet.io/promote"),
        (rollout("Promoting", weight=100), False, "Promoting", "Progressing", "InProgress", "100%"),
        (
            rollout("RollingBack", **ROLLED_BACK),
            False,
            "RolledBack",
            "Progressing",
            "Failed",
            "rolled back to st4bl3: p95TTFTSeconds=2.4 (threshold <= 0.5)",
        ),
        (
            rollout("RolledBack", **ROLLED_BACK),
            False,
            "RolledBack",
            "Stalled",
            "Failed",
            "rolled back to st4bl3: p95TTFTSeconds=2.4 (threshold <= 0.5)",
        ),
        (
            rollout("RolledBack", **ROLLED_BACK),
            True,  # a rollback is not held by spec.paused: it was decided
            "RolledBack",
            "Stalled",
            "Failed",
            "slmfleet.io/retry=true",
        ),
        (
            rollout("RolledBack", **ABORTED),
            False,
            "Aborted",
            "Stalled",
            "Failed",
            "aborted by user",
        ),
        (
            rollout("RolledBack", **DEADLINE),
            False,
            "ProgressDeadlineExceeded",
            "Stalled",
            "Failed",
            "0/1 ready after the 15s progress deadline",
        ),
        (
            rollout("Failed", **FAILED),
            False,
            "RollbackFailed",
            "Degraded",
            "Failed",
            "1/2 ready replicas; it was rolled back because p95TTFTSeconds=2.4",
        ),
    ],
)
def test_every_phase_has_one_verdict(
    status: dict[str, Any], paused: bool, reason: str, phase: str, kstatus_says: str, words: str
) -> None:
    verdict, status_phase = verdict_of(status, paused)
    assert (verdict.reason, status_phase) == (reason, phase)
    assert words in verdict.message
    conditions, _ = conditions_for(verdict, [], generation=1, now=NOW)
    obj = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "conditions": conditions},
    }
    assert kstatus(obj) == kstatus_says
    reconciling = next(c for c in conditions if c["type"] == "Reconciling")
    assert reconciling["status"] == ("True" if kstatus_says == "InProgress" else "False")


def test_a_status_written_before_rollback_reasons_still_says_why() -> None:
    old = {k: v for k, v in ROLLED_BACK.items() if not k.startswith("rollback")}
    verdict, _ = verdict_of(rollout("RolledBack", **old))
    assert verdict.reason == "RolledBack" and "p95TTFTSeconds=2.4" in verdict.message


@pytest.mark.parametrize(
    "status",
    [
        None,
        rollout("Succeeded", canaryRevision=None),
        rollout("Progressing", canaryRevision="other"),  # a new spec: the reconcile's own verdict
        rollout("RolledBack", **{**ROLLED_BACK, "failedRevision": "other"}),
    ],
)
def test_no_rollout_verdict_for_revisions_the_rollout_is_not_about(
    status: dict[str, Any] | None,
) -> None:
    assert rollout_verdict(model(status), CANARY) is None


def _ready(reason: str, message: str = "") -> list[dict[str, Any]]:
    return [{"type": "Ready", "status": "False", "reason": reason, "message": message}]


def test_conditions_are_stale_once_the_rollout_moves_on() -> None:
    rolled_back = model(rollout("RolledBack", **ROLLED_BACK))
    verdict, _ = verdict_of(rollout("RolledBack", **ROLLED_BACK))
    assert not conditions_stale(rolled_back, _ready(verdict.reason, verdict.message))
    assert conditions_stale(rolled_back, _ready("CanaryProgressing", "canary at 25%"))
    retried = model(rollout("Progressing"))  # retry: the same revision starts again
    assert conditions_stale(retried, _ready(verdict.reason, verdict.message))
    done = model(rollout("Succeeded", canaryRevision=None))
    assert conditions_stale(done, _ready("Promoting", "promoting"))
    assert not conditions_stale(done, _ready("Available", "2/2 replicas ready"))
    assert not conditions_stale(done, [])


def test_a_spec_the_reconcile_refused_is_not_a_stale_rollout_verdict() -> None:
    body = model(rollout("RolledBack", **ROLLED_BACK)).to_body()
    body["status"]["phase"] = "Stalled"
    refused = parse_smallmodel(body)
    assert not conditions_stale(refused, _ready("DoesNotFit", "needs 30 GiB"))
