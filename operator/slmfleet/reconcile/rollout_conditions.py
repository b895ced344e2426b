"""A SmallModel's kstatus verdict while its spec's revision is a canary or was rolled back (pure).

GitOps tools read these conditions (Flux and ``kubectl wait`` through kstatus, Argo CD through a
health check), so each rollout phase maps to exactly one kstatus verdict:

| status.rollout                       | Ready | Reconciling | Stalled | reason                   | kstatus    |
|--------------------------------------|-------|-------------|---------|--------------------------|------------|
| Progressing                          | False | True        | False   | CanaryProgressing        | InProgress |
| Analyzing, Promoting                 | False | True        | False   | the phase                | InProgress |
| Paused holding a step's pauseSeconds | False | True        | False   | StepHeld                 | InProgress |
| any of those with spec.paused        | False | True        | False   | Paused                   | InProgress |
| RollingBack, RolledBack              | False | False       | True    | RolledBack, Aborted or   | Failed     |
|                                      |       |             |         | ProgressDeadlineExceeded |            |
| Failed (stable not whole again)      | False | False       | True    | RollbackFailed           | Failed     |

A rolled-back revision stays Stalled (the operator has decided not to serve it) until the spec
changes to another revision or ``slmfleet.io/retry`` starts it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.api.smallmodel import SmallModel
from slmfleet.conditions import Verdict
from slmfleet.rollout.state import ABORT, PROMOTE, RETRY

# The machine's rollback reasons (its Warning Events) and the condition reason each becomes.
REASONS = {
    "RolledBack": "RolledBack",
    "RolloutAborted": "Aborted",
    "ProgressDeadlineExceeded": "ProgressDeadlineExceeded",
}
ROLLOUT_REASONS = frozenset(
    {"CanaryProgressing", "Analyzing", "Promoting", "StepHeld", "Paused", "RollbackFailed"}
    | set(REASONS.values())
)
"""Every reason this module gives Ready."""


def _cause(r: RolloutStatus) -> str:
    """What decided the rollback: the check, its value and threshold, or the deadline."""
    if r.rollback_message:
        return r.rollback_message
    return r.message.removeprefix("rolled back: ") or "the rollout was rolled back"


def _stalled(r: RolloutStatus, revision: str) -> tuple[Verdict, str]:
    stable = r.stable_revision
    cause = _cause(r)
    if r.phase == "Failed":
        message = (
            f"rolling canary {revision} back to {stable} failed: {r.message}; it was rolled back "
            f"because {cause}. Fix the stable revision's nodes or pods, or change the spec"
        )
        # not "Stalled": the rollout driver keeps bringing the stable revision back
        return Verdict(False, "RollbackFailed", message, stalled=True), "Degraded"
    # the same words while RollingBack (the canary's traffic is gone at once) and RolledBack
    message = (
        f"canary {revision} rolled back to {stable}: {cause}; {stable} keeps serving. Change the "
        f"spec, or annotate {RETRY}=true to try {revision} again"
    )
    reason = REASONS.get(r.rollback_reason or "RolledBack", "RolledBack")
    verdict = Verdict(False, reason, message, stalled=True)
    # RollingBack is still driven by the rollout; only a finished rollback is the phase Stalled
    return verdict, ("Stalled" if r.phase == "RolledBack" else "Progressing")


def _moving(model: SmallModel, r: RolloutStatus, revision: str) -> tuple[Verdict, str]:
    steps = model.spec.rollout.steps
    at = f"canary {revision} at {r.weight}% beside {r.stable_revision}"
    if model.spec.rollout.strategy == "canary" and r.phase != "Promoting":
        at += f" (step {r.step + 1}/{len(steps)})"
    if model.spec.paused:
        message = (
            f"spec.paused holds {at}; set spec.paused=false to go on, or annotate "
            f"{PROMOTE}=true or {ABORT}=true"
        )
        return Verdict(False, "Paused", message, reconciling=True), "Progressing"
    if r.phase == "Paused":
        # said without the countdown the rollout status carries, so it is written once per step
        pause = steps[min(r.step, len(steps) - 1)].pause_seconds
        message = (
            f"{at} passed its analysis; holding the step's {pause}s pause from "
            f"{r.step_started_at} (annotate {PROMOTE}=true to go on now)"
        )
        return Verdict(False, "StepHeld", message, reconciling=True), "Progressing"
    phase = str(r.phase)
    reason = "CanaryProgressing" if phase == "Progressing" else phase
    message = f"{at}: {r.message}" if r.message else at
    if r.message.startswith("step "):  # the rollout's own words already say the step and weight
        message = f"canary {revision} beside {r.stable_revision}, {r.message}"
    return Verdict(False, reason, message, reconciling=True), "Progressing"


def rollout_verdict(
    model: SmallModel, revision: str, rollout: RolloutStatus | None = None
) -> tuple[Verdict, str] | None:
    """The verdict and status phase while ``rollout`` (default: the model's status.rollout)
    decides about ``revision``; else None."""
    r = rollout if rollout is not None else model.status.rollout
    if r is None or revision not in (r.canary_revision, r.failed_revision):
        return None
    if r.failed_revision == revision and r.phase is not None and r.phase.rolled_back:
        return _stalled(r, revision)
    if r.canary_revision == revision and r.phase is not None and r.phase.moving:
        return _moving(model, r, revision)
    return None


def conditions_stale(model: SmallModel, conditions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether Ready no longer says what status.rollout means. The operator writes both from one
    plan in one patch, so they always agree; tests use this to check that they do."""
    revision = model.status.template_hash
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if not revision or ready is None:
        return False
    if ready.get("reason") not in ROLLOUT_REASONS and model.status.phase == "Stalled":
        return False  # a spec the reconcile refused (does not fit, ...): no rollout verdict
    want = rollout_verdict(model, revision)
    if want is None:
        return ready.get("reason") in ROLLOUT_REASONS
    return (ready.get("reason"), ready.get("message")) != (want[0].reason, want[0].message)
