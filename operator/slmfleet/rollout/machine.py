"""The rollout state machine: one pure function from (spec, state, observations, now).

``next_state`` returns the new ``status.rollout`` and ``status.history`` and the actions that make
them true (weights, replica counts, deletions, Events, annotation clean-up). Re-entry is
idempotent: the step index, its start time and the time of the last analysis live in status, so
calling again with the same inputs (an operator restarted mid-step, a timer firing twice) never
counts an analysis twice nor advances a step twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slmfleet.analysis.shadow_checks import SHADOW_REQUESTS, pending
from slmfleet.analysis.verdict import first_failure, inconclusive_reason, overall
from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import RolloutPhase as Phase
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.rollout.history import resolve
from slmfleet.rollout.plan import replicas_of
from slmfleet.rollout.state import (
    ABORT,
    PROMOTE,
    RETRY,
    ROLLBACK_TO,
    Action,
    ClearAnnotation,
    Observations,
    RestoreSpec,
    RolloutState,
    Transition,
)
from slmfleet.rollout.transition_builder import TransitionBuilder, seconds_since, stamp

TIME_SLACK_SECONDS = 0.5  # timers fire a little early; an analysis this close to due is due


def _start(b: TransitionBuilder, now: datetime) -> None:
    obs, spec = b.obs, b.spec
    assert b.rollout is not None
    stable = b.rollout.stable_revision
    if obs.requests.retry:
        b.clear(RETRY)
    common: dict[str, Any] = {
        "canary_revision": obs.revision,
        "failed_revision": None,
        "rollback_reason": None,
        "rollback_message": None,
        "failed_checks": 0,
        "inconclusive_checks": 0,
        "last_analysis": [],
        "last_analysis_at": None,
        "last_eval": None,
        "step_started_at": stamp(now),
    }
    if spec.strategy == "recreate":
        b.set(phase=Phase.PROMOTING, step=0, weight=100, message="recreate", **common)
        b.emit("Normal", "RolloutStarted", f"recreating {stable} as {obs.revision}")
        return
    weight = spec.steps[0].weight
    message = f"step 1/{len(spec.steps)}: {weight}% to {obs.revision}"
    b.set(phase=Phase.PROGRESSING, step=0, weight=weight, message=message, **common)
    b.emit("Normal", "RolloutStarted", f"canary {obs.revision} beside {stable}: {message}")


def _roll_back(b: TransitionBuilder, reason: str, why: str, now: datetime) -> None:
    assert b.rollout is not None
    canary = b.rollout.canary_revision
    b.set(phase=Phase.ROLLING_BACK, weight=0, failed_revision=canary, message=f"rolled back: {why}")
    # the rollback's own deadline counts from here; the conditions say why it happened
    b.set(step_started_at=stamp(now), rollback_reason=reason, rollback_message=why)
    b.emit("Warning", reason, f"rolling back {canary} to {b.rollout.stable_revision}: {why}")


def _advance(b: TransitionBuilder, now: datetime) -> None:
    assert b.rollout is not None
    step, steps = b.rollout.step, b.spec.steps
    if step + 1 >= len(steps):
        b.set(phase=Phase.PROMOTING, weight=100, message=f"promoting {b.rollout.canary_revision}")
        b.emit("Normal", "Promoting", f"all {len(steps)} steps passed")
        return
    weight = steps[step + 1].weight
    message = f"step {step + 2}/{len(steps)}: {weight}% to {b.rollout.canary_revision}"
    b.set(phase=Phase.PROGRESSING, step=step + 1, weight=weight, step_started_at=stamp(now))
    b.set(message=message)
    b.emit("Normal", "StepAdvanced", message)


def analysis_due(status: RolloutStatus | None, interval_seconds: int, now: datetime) -> bool:
    """Whether an analysis is due: none yet, or the last one is an interval old."""
    since = seconds_since(status.last_analysis_at if status else None, now)
    return since is None or since + TIME_SLACK_SECONDS >= interval_seconds


def _analyze(b: TransitionBuilder, now: datetime) -> None:
    r, spec, obs = b.rollout, b.spec, b.obs
    assert r is not None
    at = obs.analysis_at or now
    if obs.analysis_pending or not analysis_due(r, spec.analysis_interval_seconds, at):
        return  # not due, or still being gathered: this analysis was already counted
    verdict = overall(obs.checks, obs.evaluation, require_evidence=spec.analysis != "none")
    b.set(last_analysis_at=stamp(at), last_analysis=list(obs.checks), last_eval=obs.evaluation)
    if verdict == "fail":
        failed = r.failed_checks + 1
        why = first_failure(obs.checks, obs.evaluation) or "a check failed"
        b.set(failed_checks=failed, message=f"analysis failed {failed}x: {why}")
        if failed > spec.failure_limit:
            _roll_back(b, "RolledBack", why, now)
        else:
            b.emit("Warning", "AnalysisFailed", f"{why} ({failed}/{spec.failure_limit} tolerated)")
        return
    if verdict == "inconclusive" and pending(obs.checks):
        mirrored = next(c.value for c in obs.checks if c.name == SHADOW_REQUESTS)
        b.set(phase=Phase.ANALYZING, message=f"shadow: {mirrored or 0:g} requests mirrored")
        return  # a shadow step waiting for traffic is not missing data
    if verdict == "inconclusive":
        count = r.inconclusive_checks + 1
        reason = inconclusive_reason(obs.evaluation)
        detail = f": {reason}" if reason else ""
        b.set(
            inconclusive_checks=count, phase=Phase.ANALYZING, message=f"no data ({count}x){detail}"
        )
        if count > spec.inconclusive_limit:
            _roll_back(b, "RolledBack", f"no analysis data {count} times in a row{detail}", now)
        return
    b.set(inconclusive_checks=0)
    held = seconds_since(r.step_started_at, now) or 0.0
    pause = spec.steps[min(r.step, len(spec.steps) - 1)].pause_seconds
    if held + TIME_SLACK_SECONDS < pause:
        b.set(
            phase=Phase.PAUSED,
            message=f"step {r.step + 1} passed; holding {pause - held:.0f}s more",
        )
        return
    _advance(b, now)


def _in_flight(b: TransitionBuilder, now: datetime) -> None:
    r, obs = b.rollout, b.obs
    assert r is not None and r.canary_revision is not None
    if obs.requests.abort and r.phase is not Phase.ROLLING_BACK:
        b.clear(ABORT)
        _roll_back(b, "RolloutAborted", "aborted by user", now)
        return
    if obs.requests.promote and r.phase is not None and r.phase.analyzed:
        b.clear(PROMOTE)
        b.set(phase=Phase.PROMOTING, weight=100, message="promoted by user")
        b.emit("Normal", "PromotionRequested", f"promoting {r.canary_revision} now")
        return
    plan = replicas_of(b.spec, r, obs.revision, obs.total)
    ready = obs.ready.get
    if r.phase is Phase.PROMOTING:
        if ready(r.canary_revision, 0) >= obs.total:
            b.remember(r.canary_revision, now)
            b.set(phase=Phase.SUCCEEDED, stable_revision=r.canary_revision, canary_revision=None)
            b.set(weight=0, step=0, message=f"revision {r.canary_revision} serving")
            b.emit("Normal", "RolloutSucceeded", f"{r.canary_revision} promoted")
        return
    if r.phase in (Phase.ROLLING_BACK, Phase.FAILED):
        _rolling_back(b, now)
        return
    if r.phase is Phase.PROGRESSING:
        want = plan.get(r.canary_revision, 0)
        if ready(r.canary_revision, 0) < want:
            got = ready(r.canary_revision, 0)
            deadline = b.spec.progress_deadline_seconds
            if (seconds_since(r.step_started_at, now) or 0.0) > deadline:
                why = f"canary replicas {got}/{want} ready after the {deadline}s progress deadline"
                _roll_back(b, "ProgressDeadlineExceeded", why, now)
                return
            b.set(message=f"step {r.step + 1}: waiting for canary replicas {got}/{want}")
            return
        # The analysis clock starts when the step's canary is ready: its first analysis runs one
        # interval later, over metrics of this step's traffic (none are scraped before).
        interval = b.spec.analysis_interval_seconds
        b.set(phase=Phase.ANALYZING, last_analysis_at=stamp(now))
        b.set(message=f"step {r.step + 1}: canary ready; first analysis in {interval}s")
        return
    _analyze(b, now)


def _rolling_back(b: TransitionBuilder, now: datetime) -> None:
    """RolledBack once the stable revision is whole again; Failed (still trying) when it is not
    within the progress deadline, which needs a person: the stable revision cannot come back."""
    r, obs = b.rollout, b.obs
    assert r is not None
    stable = r.stable_revision
    got = obs.ready.get(stable, 0) if stable is not None else obs.total
    if got >= obs.total:
        if r.phase is Phase.FAILED:
            b.emit("Normal", "RollbackCompleted", f"{stable} is whole again")
        b.set(phase=Phase.ROLLED_BACK)
        return
    deadline = b.spec.progress_deadline_seconds
    if r.phase is Phase.ROLLING_BACK and (seconds_since(r.step_started_at, now) or 0.0) > deadline:
        why = f"stable {stable} has {got}/{obs.total} ready replicas {deadline}s into the rollback"
        b.set(phase=Phase.FAILED, message=f"rollback stalled: {why}")
        b.emit("Warning", "RollbackStalled", why)


def _rollback_to(b: TransitionBuilder, target: str) -> None:
    b.clear(ROLLBACK_TO)
    entry = resolve(b.history, target)
    if entry is None:
        b.emit("Warning", "RollbackTargetNotFound", f"no revision {target!r} in status.history")
        return
    b.actions.append(RestoreSpec(entry.revision, entry.spec))
    b.emit("Normal", "RollbackRequested", f"restoring the spec of revision {entry.revision}")


def _serving_before(obs: Observations) -> str | None:
    """Another revision with ready replicas, when the machine has no state yet (most ready)."""
    others = [(n, rev) for rev, n in obs.ready.items() if rev != obs.revision and n > 0]
    return max(others)[1] if others else None


def next_state(
    spec: RolloutSpec, state: RolloutState, obs: Observations, now: datetime
) -> Transition:
    """The rollout's next status and the actions that bring the cluster there."""
    b = TransitionBuilder(spec, state, obs)
    if obs.requests.rollback_to is not None:
        _rollback_to(b, obs.requests.rollback_to)
    r = b.rollout
    if r is None or r.stable_revision is None:
        serving = _serving_before(obs)
        if serving is not None:
            # The spec changed before the first tick saw the serving revision: it is the stable
            # one, and the change is a canary. Its spec was never seen: it is not in the history.
            b.set(phase=Phase.SUCCEEDED, stable_revision=serving, canary_revision=None, weight=0)
            _start(b, now)
            return b.finish()
        b.remember(obs.revision, now)
        b.set(phase=Phase.SUCCEEDED, stable_revision=obs.revision, canary_revision=None, weight=0)
        b.set(message=f"revision {obs.revision} serving")
        return b.finish()
    if obs.paused:
        if r.phase in (Phase.PROGRESSING, Phase.ANALYZING):
            b.set(phase=Phase.PAUSED, message="spec.paused: holding the current step")
        return b.finish()
    if r.phase is not None and r.phase.in_flight and r.canary_revision is not None:
        if obs.revision == r.canary_revision:
            _in_flight(b, now)
            return b.finish()
        if obs.revision == r.stable_revision:
            b.set(
                phase=Phase.SUCCEEDED,
                canary_revision=None,
                weight=0,
                message="spec is stable again",
            )
            b.emit("Normal", "RolloutCancelled", f"spec returned to {r.stable_revision}")
            return b.finish()
        b.emit(
            "Normal", "RolloutRestarted", f"spec changed during the rollout of {r.canary_revision}"
        )
        _start(b, now)
        return b.finish()
    if obs.requests.retry and r.failed_revision is None:
        b.clear(RETRY)  # nothing to retry
    if obs.revision == r.stable_revision:
        if r.phase not in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED):
            b.set(phase=Phase.SUCCEEDED)
        return b.finish()
    if obs.revision == r.failed_revision and not obs.requests.retry:
        hint = f"change the spec or annotate {RETRY}"
        if hint not in r.message:  # keep why it was rolled back, once, with what to do
            why = r.message or f"revision {obs.revision} was rolled back"
            b.set(message=f"{why}; {hint}")
        return b.finish()
    _start(b, now)
    return b.finish()


def annotations_to_clear(actions: tuple[Action, ...]) -> Mapping[str, None]:
    """The merge patch that removes the annotations the machine acted on."""
    return {a.key: None for a in actions if isinstance(a, ClearAnnotation)}
