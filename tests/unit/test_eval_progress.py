"""An eval's progress in status while it runs: counted per case, shown every few seconds (never
per case, nothing for a short eval), replaced by the result; a hand clock decides what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from test_analysis_runner import KEY, Clock, Parts, Wakes, hand_runner
from test_eval_reference import REF, Cache, dataset, echo_or_refuse, gets, suite_body
from test_model_plan import T0, _canary, body, observed, plan, revision_of
from test_reconcile_smallmodel import model

from slmfleet.analysis.eval_progress import EVAL_PROGRESS_SECONDS, ProgressTracker
from slmfleet.api.eval_progress import EvalProgress, SideProgress
from slmfleet.api.rollout_status import EvalResult
from slmfleet.cache.seen import Inputs
from slmfleet.cache.view import FleetCache
from slmfleet.cli.rollout_commands import status_text
from slmfleet.handlers.eval_run import run_eval
from slmfleet.reconcile.model_plan import Analysis

pytestmark = pytest.mark.unit

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def tracker(clock: Clock) -> ProgressTracker:
    return ProgressTracker("answers", START, clock=clock)


def test_nothing_is_shown_before_the_eval_ran_a_period_then_one_snapshot_per_period() -> None:
    clock = Clock()
    t = tracker(clock)
    canary, stable = t.begin("canary", 500), t.begin("stable", 500)
    for _ in range(40):
        canary()
    assert t.shown() is None  # a short eval writes no progress at all
    assert t.due_in() == EVAL_PROGRESS_SECONDS
    clock.now += EVAL_PROGRESS_SECONDS
    first = t.shown()
    assert first is not None
    assert first.to_body() == {
        "suite": "answers",
        "startedAt": "2026-01-01T12:00:00Z",
        "sides": [
            {"side": "canary", "done": 40, "total": 500},
            {"side": "stable", "done": 0, "total": 500},
        ],
    }
    for _ in range(100):  # cases keep ending: the shown snapshot does not move with them
        canary()
        stable()
    clock.now += EVAL_PROGRESS_SECONDS - 1
    assert t.shown() is first and t.due_in() == pytest.approx(1.0)
    clock.now += 1
    assert [(s.done, s.total) for s in cast(EvalProgress, t.shown()).sides] == [
        (140, 500), (100, 500),
    ]  # fmt: skip


def test_an_ended_eval_keeps_its_last_snapshot_and_is_due_for_nothing() -> None:
    clock = Clock()
    t = tracker(clock)
    counted = t.begin("canary", 10)
    clock.now += EVAL_PROGRESS_SECONDS
    last = t.shown()
    counted()
    t.end()
    clock.now += 3 * EVAL_PROGRESS_SECONDS
    assert t.shown() is last and t.due_in() is None


def test_the_analysis_in_flight_shows_the_progress_and_is_due_when_it_moves() -> None:
    runner, pool, clock = hand_runner()
    g = Parts({"eval": lambda _d: EvalResult(suite="answers", verdict="pass")}, seconds=60.0)
    g.progress = tracker(clock)
    g.progress.begin("canary", 2000)
    pending = runner.poll(KEY, ("new",), lambda: g, Wakes())
    assert pending.pending and pending.progress is None
    assert runner.seconds_left(KEY) == pytest.approx(EVAL_PROGRESS_SECONDS, abs=0.02)
    clock.now += EVAL_PROGRESS_SECONDS
    shown = runner.poll(KEY, ("new",), lambda: g, Wakes())
    assert shown.progress is not None and shown.progress.sides[0].total == 2000
    g.progress.end()
    pool.run(0)
    # the eval ended: its progress is due for nothing (the last part wakes the model)
    assert runner.seconds_left(KEY) == pytest.approx(60.0 - EVAL_PROGRESS_SECONDS, abs=0.02)
    done = runner.poll(KEY, ("new",), lambda: g, Wakes())
    assert not done.pending and done.progress is None


def test_without_an_eval_the_deadline_alone_is_due() -> None:
    runner, _, _ = hand_runner()
    g = Parts({"probe#0": lambda _d: True})
    assert runner.poll(KEY, ("new",), lambda: g, Wakes()).progress is None
    assert runner.seconds_left(KEY) == pytest.approx(4.0, abs=0.02)


def test_every_case_of_every_side_is_counted() -> None:
    clock = Clock()
    t = tracker(clock)
    found = {("ConfigMap", "data"): {"data": {"cases.jsonl": dataset(30, 3)}}}
    cache = cast(FleetCache, Cache(suite_body(reference=REF, maxDropVsStable=0.1)))
    sent: list[Any] = []
    result = run_eval(
        cache, model(), "s", ["10.0.0.1:8000"], ["10.0.0.2:8000"], get=gets(found),
        post=echo_or_refuse(sent), progress=t,
    )  # fmt: skip
    assert result.cases == 30
    clock.now += EVAL_PROGRESS_SECONDS
    sides = cast(EvalProgress, t.shown()).sides
    assert sides == [
        SideProgress(side=side, done=30, total=30) for side in ("canary", "stable", "reference")
    ]


PROGRESS = EvalProgress(
    suite="answers", started_at="2026-01-01T12:00:00Z",
    sides=[SideProgress(side="canary", done=120, total=500)],
)  # fmt: skip


def test_the_plan_writes_the_progress_while_pending_and_the_result_replaces_it() -> None:
    old = revision_of(body())
    b = _canary(old)
    new = b["status"]["rollout"]["canaryRevision"]
    o = observed({old: (1, 1), new: (1, 1)})
    later = T0 + timedelta(seconds=10)
    running = plan(b, o, later, Analysis(pending=True, progress=PROGRESS))
    assert running.status["evalProgress"] == PROGRESS.to_body()
    assert running.status["rollout"]["lastAnalysisAt"] is None  # nothing counted yet
    b2 = {**b, "status": running.status}
    result = EvalResult(suite="answers", score=1.0, cases=500, verdict="pass")
    counted = plan(b2, o, later, Analysis(evaluation=result, at=later))
    assert counted.status["evalProgress"] is None  # the same write that records lastEval
    assert counted.status["rollout"]["lastEval"]["score"] == 1.0
    idle = plan({**b2, "status": counted.status}, o, later)
    assert idle.status["evalProgress"] is None  # no eval: nothing more to write


def test_a_progress_write_is_no_plan_input() -> None:
    inputs = Inputs()
    base = {"metadata": {"uid": "u", "resourceVersion": "1"}, "status": {"phase": "Ready"}}
    assert inputs.changed(base, "ADDED")
    moved = {**base, "status": {"phase": "Ready", "evalProgress": PROGRESS.to_body()}}
    assert not inputs.changed(moved, "MODIFIED")


def test_kubectl_slm_status_prints_the_eval_running() -> None:
    shown = {
        "metadata": {"name": "qwen"},
        "status": {
            "rollout": {"phase": "Analyzing", "stableRevision": "a", "canaryRevision": "b"},
            "evalProgress": {
                **PROGRESS.to_body(),
                "sides": [
                    {"side": "canary", "done": 120, "total": 500},
                    {"side": "reference", "done": 95, "total": 500},
                ],
            },
        },
    }
    assert (
        "  eval answers running since 2026-01-01T12:00:00Z: canary 120/500, reference 95/500"
        in status_text(shown).splitlines()
    )
