"""What one SmallModel plan says, counted: its duration and verdict, the analysis it counted,
the rollout phase it enters and the rollback it decides (the model's actor calls this once per
plan, after planning, with the status the plan was made from still in ``body``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmfleet.observability.metrics import (
    ANALYSIS_CHECKS,
    PLAN_SECONDS,
    PLAN_VERDICTS,
    ROLLBACKS,
    ROLLOUT_TRANSITIONS,
)
from slmfleet.reconcile.model_plan import Analysis, ModelPlan

ROLLING_BACK = "RollingBack"


def _rollout(status: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (status or {}).get("rollout") or {}


def record_plan(
    body: Mapping[str, Any], plan: ModelPlan, analysis: Analysis, seconds: float
) -> None:
    PLAN_SECONDS.observe(seconds)
    if plan.verdict is not None:
        PLAN_VERDICTS.labels(reason=plan.verdict.reason).inc()
    for check in analysis.checks:
        ANALYSIS_CHECKS.labels(check=check.name, verdict=check.verdict).inc()
    if analysis.evaluation is not None:
        ANALYSIS_CHECKS.labels(check="eval", verdict=analysis.evaluation.verdict).inc()
    before, after = _rollout(body.get("status")), _rollout(plan.status)
    phase = after.get("phase")
    entered = phase and (
        phase != before.get("phase") or after.get("canaryRevision") != before.get("canaryRevision")
    )
    if not entered:
        return
    ROLLOUT_TRANSITIONS.labels(phase=str(phase)).inc()
    if phase == ROLLING_BACK:
        ROLLBACKS.labels(reason=str(after.get("rollbackReason") or "unknown")).inc()
