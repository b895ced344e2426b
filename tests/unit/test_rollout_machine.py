"""The rollout state machine, transition by transition, with hand-computed weights and replicas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import CheckResult, EvalResult, HistoryEntry, RolloutStatus
from slmfleet.rollout.machine import next_state
from slmfleet.rollout.state import (
    ABORT,
    PROMOTE,
    RETRY,
    ROLLBACK_TO,
    ClearAnnotation,
    DeleteRevision,
    Emit,
    Observations,
    Requests,
    RestoreSpec,
    RolloutState,
    Scale,
    SetWeights,
    Transition,
)
from slmfleet.rollout.transition_builder import stamp

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
PASS = (CheckResult(name="p95TTFTSeconds", value=0.2, threshold="<= 0.5", verdict="pass"),)
FAIL = (CheckResult(name="p95TTFTSeconds", value=1.6, threshold="<= 0.5", verdict="fail"),)
NODATA = (
    CheckResult(name="p95TTFTSeconds", value=None, threshold="<= 0.5", verdict="inconclusive"),
)


def spec(**kw: Any) -> RolloutSpec:
    base: dict[str, Any] = {
        "steps": [{"weight": 25}, {"weight": 50}],
        "analysisIntervalSeconds": 10,
        "failureLimit": 1,
        "inconclusiveLimit": 2,
    }
    base.update(kw)
    return RolloutSpec.model_validate(base)


def rolling(**kw: Any) -> RolloutState:
    fields: dict[str, Any] = {
        "phase": "Analyzing",
        "stable_revision": "old",
        "canary_revision": "new",
        "step": 0,
        "weight": 25,
        "step_started_at": stamp(T0),
    }
    fields.update(kw)
    return RolloutState(RolloutStatus(**fields), (HistoryEntry(revision="old", spec={"a": 1}),))


def obs(rev: str = "new", total: int = 4, **kw: Any) -> Observations:
    ready = kw.pop("ready", {"old": 4, "new": 1})
    return Observations(revision=rev, total=total, ready=ready, spec={"a": 2}, **kw)


def scales(t: Transition) -> dict[str, int]:
    return {a.revision: a.replicas for a in t.actions if isinstance(a, Scale)}


def weights(t: Transition) -> dict[str, int]:
    return dict(next(a for a in t.actions if isinstance(a, SetWeights)).weights)


def reasons(t: Transition) -> list[str]:
    return [a.reason for a in t.actions if isinstance(a, Emit)]


def phase(t: Transition) -> str | None:
    assert t.state.rollout is not None
    return t.state.rollout.phase


# (name, spec, state, observations, now, phase, step, weights, replicas, event reasons)
CASES = [
    (
        "first revision serves at once",
        spec(), RolloutState(), obs(rev="r1", ready={}), T0,
        "Succeeded", 0, {"r1": 100}, {"r1": 4}, [],
    ),
    (
        "first revision serves at once, even beside a revision that never got ready",
        spec(), RolloutState(), obs(rev="r2", ready={"r1": 0}), T0,
        "Succeeded", 0, {"r2": 100}, {"r2": 4}, [],  # r1 is deleted
    ),
    (
        "a revision serving before the first tick is the stable one: the change is a canary",
        spec(), RolloutState(), obs(rev="r2", ready={"r1": 4}), T0,
        "Progressing", 0, {"r1": 75, "r2": 25}, {"r1": 4, "r2": 1}, ["RolloutStarted"],
    ),
    (
        "spec change starts step 1 at 25%: ceil(4*25/100)=1 canary, stable keeps 4",
        spec(), RolloutState(RolloutStatus(phase="Succeeded", stable_revision="old")),
        obs(ready={"old": 4}), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, ["RolloutStarted"],
    ),
    (
        "replicas provider: step 1 at 25% is 1 canary and 3 stable behind one Service",
        spec(trafficProvider="replicas"),
        RolloutState(RolloutStatus(phase="Succeeded", stable_revision="old")),
        obs(ready={"old": 4}), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 3, "new": 1}, ["RolloutStarted"],
    ),
    (
        "replicas provider: step 2 at 50% is 2 and 2",
        spec(trafficProvider="replicas"), rolling(phase="Analyzing"), obs(checks=PASS),
        T0 + timedelta(seconds=10),
        "Progressing", 1, {"old": 50, "new": 50}, {"old": 2, "new": 2}, ["StepAdvanced"],
    ),
    (
        "canary not ready yet keeps waiting",
        spec(), rolling(phase="Progressing"), obs(ready={"old": 3, "new": 0}), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, [],
    ),
    (
        "canary still not ready at the progress deadline keeps waiting",
        spec(progressDeadlineSeconds=60), rolling(phase="Progressing"),
        obs(ready={"old": 4, "new": 0}), T0 + timedelta(seconds=60),
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, [],
    ),
    (
        "canary not ready past the progress deadline rolls back",
        spec(progressDeadlineSeconds=60), rolling(phase="Progressing"),
        obs(ready={"old": 4, "new": 0}), T0 + timedelta(seconds=61),
        "RollingBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0},
        ["ProgressDeadlineExceeded"],
    ),
    (
        "canary ready: the analysis clock starts, checks gathered before are not counted",
        spec(), rolling(phase="Progressing"), obs(checks=PASS), T0 + timedelta(seconds=5),
        "Analyzing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, [],
    ),
    (
        "an interval after the canary was ready, checks pass: step 2 at 50%: 2 canary",
        spec(), rolling(phase="Analyzing", last_analysis_at=stamp(T0)), obs(checks=PASS),
        T0 + timedelta(seconds=10),
        "Progressing", 1, {"old": 50, "new": 50}, {"old": 4, "new": 2}, ["StepAdvanced"],
    ),
    (
        "last step passes: promote to 100%",
        spec(), rolling(step=1, weight=50), obs(checks=PASS), T0 + timedelta(seconds=5),
        "Promoting", 1, {"old": 0, "new": 100}, {"old": 0, "new": 4}, ["Promoting"],
    ),
    (
        "promotion completes when all canary replicas are ready; old revision deleted",
        spec(), rolling(phase="Promoting", step=1, weight=100),
        obs(ready={"old": 0, "new": 4}), T0,
        "Succeeded", 0, {"new": 100}, {"new": 4}, ["RolloutSucceeded"],
    ),
    (
        "pause not yet over: Paused, same step",
        spec(steps=[{"weight": 25, "pauseSeconds": 60}, {"weight": 50}]), rolling(),
        obs(checks=PASS), T0 + timedelta(seconds=30),
        "Paused", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, [],
    ),
    (
        "first failure within failureLimit=1 is tolerated",
        spec(), rolling(), obs(checks=FAIL), T0,
        "Analyzing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, ["AnalysisFailed"],
    ),
    (
        "second failure past failureLimit=1 rolls back at once: canary 0, stable 4",
        spec(), rolling(failed_checks=1), obs(checks=FAIL), T0,
        "RollingBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RolledBack"],
    ),
    (
        "rollback done when stable is ready again",
        spec(), rolling(phase="RollingBack", weight=0, failed_revision="new"),
        obs(ready={"old": 4, "new": 0}), T0,
        "RolledBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, [],
    ),
    (
        "stable not whole again within the progress deadline: Failed, still rolling back",
        spec(progressDeadlineSeconds=60),
        rolling(phase="RollingBack", weight=0, failed_revision="new"),
        obs(ready={"old": 2, "new": 0}), T0 + timedelta(seconds=61),
        "Failed", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RollbackStalled"],
    ),
    (
        "Failed stays Failed (one Event) while the stable revision is short",
        spec(progressDeadlineSeconds=60),
        rolling(phase="Failed", weight=0, failed_revision="new"),
        obs(ready={"old": 3, "new": 0}), T0 + timedelta(seconds=300),
        "Failed", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, [],
    ),
    (
        "Failed becomes RolledBack once the stable revision is whole",
        spec(progressDeadlineSeconds=60),
        rolling(phase="Failed", weight=0, failed_revision="new"),
        obs(ready={"old": 4, "new": 0}), T0 + timedelta(seconds=300),
        "RolledBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RollbackCompleted"],
    ),
    (
        "no data within inconclusiveLimit=2 never advances",
        spec(), rolling(inconclusive_checks=1), obs(checks=NODATA), T0,
        "Analyzing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, [],
    ),
    (
        "third time without data rolls back",
        spec(), rolling(inconclusive_checks=2), obs(checks=NODATA), T0,
        "RollingBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RolledBack"],
    ),
    (
        "failed eval gates like a failed metric",
        spec(failureLimit=0), rolling(),
        obs(evaluation=EvalResult(suite="s", score=0.0, failed_cases=["c1"], verdict="fail")),
        T0, "RollingBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RolledBack"],
    ),
    (
        "rolled-back revision is not retried while the spec still asks for it",
        spec(), rolling(phase="RolledBack", weight=0, failed_revision="new"),
        obs(ready={"old": 4, "new": 0}), T0,
        "RolledBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, [],
    ),
    (
        "retry annotation starts the same revision again",
        spec(), rolling(phase="RolledBack", weight=0, failed_revision="new"),
        obs(ready={"old": 4, "new": 0}, requests=Requests(retry=True)), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 4, "new": 1}, ["RolloutStarted"],
    ),
    (
        "abort annotation rolls back",
        spec(), rolling(), obs(requests=Requests(abort=True)), T0,
        "RollingBack", 0, {"old": 100, "new": 0}, {"old": 4, "new": 0}, ["RolloutAborted"],
    ),
    (
        "promote annotation skips the remaining steps",
        spec(), rolling(), obs(requests=Requests(promote=True)), T0,
        "Promoting", 0, {"old": 0, "new": 100}, {"old": 0, "new": 4}, ["PromotionRequested"],
    ),
    (
        "no surge on one replica: each step is a cut-over, never 2 replicas",
        spec(noSurge=True), RolloutState(RolloutStatus(phase="Succeeded", stable_revision="old")),
        obs(total=1, ready={"old": 1}), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 0, "new": 1}, ["RolloutStarted"],
    ),
    (
        "with surge on one replica both keep one",
        spec(), RolloutState(RolloutStatus(phase="Succeeded", stable_revision="old")),
        obs(total=1, ready={"old": 1}), T0,
        "Progressing", 0, {"old": 75, "new": 25}, {"old": 1, "new": 1}, ["RolloutStarted"],
    ),
    (
        "recreate goes straight to promoting",
        spec(strategy="recreate"),
        RolloutState(RolloutStatus(phase="Succeeded", stable_revision="old")),
        obs(ready={"old": 4}), T0,
        "Promoting", 0, {"old": 0, "new": 100}, {"old": 0, "new": 4}, ["RolloutStarted"],
    ),
    (
        "spec changed again mid-rollout restarts at step 1 with the newer canary",
        spec(), rolling(step=1, weight=50), obs(rev="newer", ready={"old": 2, "new": 2}), T0,
        "Progressing", 0, {"old": 75, "newer": 25}, {"old": 4, "newer": 1},
        ["RolloutRestarted", "RolloutStarted"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "rspec", "state", "observed", "now", "want_phase", "want_step", "want_weights",
     "want_replicas", "want_events"),
    CASES,
    ids=[c[0] for c in CASES],
)  # fmt: skip
def test_transition(
    name: str,
    rspec: RolloutSpec,
    state: RolloutState,
    observed: Observations,
    now: datetime,
    want_phase: str,
    want_step: int,
    want_weights: dict[str, int],
    want_replicas: dict[str, int],
    want_events: list[str],
) -> None:
    t = next_state(rspec, state, observed, now)
    assert phase(t) == want_phase
    assert t.state.rollout is not None and t.state.rollout.step == want_step
    assert weights(t) == want_weights
    assert scales(t) == want_replicas
    assert reasons(t) == want_events


@pytest.mark.parametrize(
    ("state", "since", "want_step", "want_failed"),
    [
        # restarted 3 s after an analysis that advanced to step 2 (interval 10 s): nothing again
        (rolling(phase="Analyzing", step=1, weight=50), 3, 1, 0),
        # restarted 3 s after a failed analysis: the failure is not counted twice
        (rolling(failed_checks=1), 3, 0, 1),
        # restarted a full interval later: the analysis is due, the step advances once
        (rolling(), 10, 1, 0),
    ],
)
def test_restart_mid_step_resumes_once_never_twice(
    state: RolloutState, since: int, want_step: int, want_failed: int
) -> None:
    assert state.rollout is not None
    last = stamp(T0)
    resumed = RolloutState(state.rollout.model_copy(update={"last_analysis_at": last}), ())
    now = T0 + timedelta(seconds=since)
    checks = PASS if want_failed == 0 else FAIL
    first = next_state(spec(), resumed, obs(checks=checks, ready={"old": 2, "new": 2}), now)
    again = next_state(spec(), first.state, obs(checks=checks, ready={"old": 2, "new": 2}), now)
    for t in (first, again):
        assert t.state.rollout is not None
        assert t.state.rollout.step == want_step
        assert t.state.rollout.failed_checks == want_failed
    assert again.state.rollout is not None and first.state.rollout is not None
    assert again.state.rollout.last_analysis_at == first.state.rollout.last_analysis_at
    assert again.state.rollout.step_started_at == first.state.rollout.step_started_at


def test_rollback_records_the_failed_check_value_and_threshold() -> None:
    t = next_state(spec(), rolling(failed_checks=1), obs(checks=FAIL), T0)
    r = t.state.rollout
    assert r is not None and r.failed_revision == "new"
    assert "p95TTFTSeconds=1.6 (threshold <= 0.5)" in r.message
    warning = next(a for a in t.actions if isinstance(a, Emit))
    assert warning.type == "Warning" and "p95TTFTSeconds=1.6" in warning.message


def test_succeeded_pushes_history_newest_first_and_deletes_the_old_revision() -> None:
    t = next_state(
        spec(historyLimit=2),
        rolling(phase="Promoting", weight=100),
        obs(ready={"old": 0, "new": 4, "older": 0}),
        T0,
    )
    assert [h.revision for h in t.state.history] == ["new", "old"]
    assert t.state.history[0].spec == {"a": 2}
    deleted = sorted(a.revision for a in t.actions if isinstance(a, DeleteRevision))
    assert deleted == ["old", "older"]


@pytest.mark.parametrize(
    ("target", "restored"),
    [("2", "r1"), ("r2", "r2"), ("1", "r2")],
)
def test_rollback_to_restores_a_past_spec(target: str, restored: str) -> None:
    history = tuple(HistoryEntry(revision=f"r{i}", spec={"n": i}) for i in (3, 2, 1))
    state = RolloutState(RolloutStatus(phase="Succeeded", stable_revision="r3"), history)
    t = next_state(
        spec(), state, obs(rev="r3", ready={"r3": 4}, requests=Requests(rollback_to=target)), T0
    )
    restore = next(a for a in t.actions if isinstance(a, RestoreSpec))
    assert restore.revision == restored
    assert restore.spec == {"n": int(restored[1:])}
    assert ClearAnnotation(ROLLBACK_TO) in t.actions


@pytest.mark.parametrize(
    ("requests", "cleared"),
    [
        (Requests(promote=True), PROMOTE),
        (Requests(abort=True), ABORT),
    ],
)
def test_acted_on_annotations_are_cleared(requests: Requests, cleared: str) -> None:
    t = next_state(spec(), rolling(), obs(requests=requests), T0)
    assert ClearAnnotation(cleared) in t.actions


def test_retry_clears_its_annotation() -> None:
    state = rolling(phase="RolledBack", weight=0, failed_revision="new")
    t = next_state(spec(), state, obs(requests=Requests(retry=True)), T0)
    assert ClearAnnotation(RETRY) in t.actions


def test_scale_downs_come_before_scale_ups() -> None:
    t = next_state(spec(noSurge=True), rolling(phase="Progressing"), obs(ready={"old": 4}), T0)
    order = [a.revision for a in t.actions if isinstance(a, Scale)]
    assert order == ["old", "new"]  # old: 4 -> 3 first, then new: 0 -> 1


def test_the_rollback_deadline_counts_from_the_rollback_not_the_step() -> None:
    late = T0 + timedelta(seconds=3600)  # an abort an hour into the step
    aborted = next_state(spec(progressDeadlineSeconds=60), rolling(),
                         obs(requests=Requests(abort=True)), late)  # fmt: skip
    assert phase(aborted) == "RollingBack"
    assert aborted.state.rollout is not None and aborted.state.rollout.step_started_at == stamp(
        late
    )
    short = obs(ready={"old": 2, "new": 0})
    within = next_state(spec(progressDeadlineSeconds=60), aborted.state, short,
                        late + timedelta(seconds=30))  # fmt: skip
    assert phase(within) == "RollingBack"


@pytest.mark.parametrize(
    ("analysis", "checks", "want"),
    [
        ("required", (), "Analyzing"),  # nothing measured: no data, never a step forward
        ("none", (), "Progressing"),  # explicitly no evidence: the step advances
        ("required", PASS, "Progressing"),
    ],
)
def test_a_step_advances_on_evidence_unless_analysis_is_none(
    analysis: str, checks: tuple[CheckResult, ...], want: str
) -> None:
    t = next_state(
        spec(analysis=analysis),
        rolling(phase="Analyzing", last_analysis_at=stamp(T0)),
        obs(checks=checks),
        T0 + timedelta(seconds=10),
    )
    assert phase(t) == want
    if want == "Analyzing":
        assert t.state.rollout is not None and t.state.rollout.inconclusive_checks == 1


def test_an_analysis_counts_as_of_when_it_started_not_when_it_finished() -> None:
    started = T0 + timedelta(seconds=10)
    t = next_state(
        spec(steps=[{"weight": 25, "pauseSeconds": 3600}]),
        rolling(phase="Analyzing", last_analysis_at=stamp(T0)),
        obs(checks=PASS, analysis_at=started),
        started + timedelta(seconds=4),  # its slowest part answered 4 s later
    )
    assert t.state.rollout is not None and t.state.rollout.last_analysis_at == stamp(started)


def test_an_analysis_still_being_gathered_is_not_counted() -> None:
    before = rolling(phase="Analyzing", last_analysis_at=stamp(T0))
    t = next_state(spec(), before, obs(analysis_pending=True), T0 + timedelta(seconds=11))
    assert t.state.rollout == before.rollout
