"""Analyses run their parts at once, off the caller, under one deadline; a fake pool and a fake
clock decide what has answered when (nothing here waits on wall-clock time)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest

from slmfleet.analysis.deadline import Deadline, deadline_seconds
from slmfleet.analysis.eval_progress import ProgressTracker
from slmfleet.api.rollout_status import CheckResult
from slmfleet.handlers.analysis_runner import AnalysisRunner
from slmfleet.handlers.rollout_analysis import Part
from slmfleet.reconcile.model_plan import Analysis

pytestmark = pytest.mark.unit

KEY = ("model", "team", "m")
WAIT = 30.0  # a guard against a hang, never a bound the test asserts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class HandPool(Executor):
    """Runs a submitted call only when the test says so."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.append((future, fn, args))
        return future

    def run(self, index: int) -> None:
        future, fn, args = self.jobs[index]
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except Exception as err:
            future.set_exception(err)


@dataclass
class Parts:
    """A gathering whose finish records what it was given."""

    parts: dict[str, Part]
    seconds: float = 4.0
    progress: ProgressTracker | None = None
    given: list[tuple[dict[str, object], dict[str, str]]] = field(default_factory=list)

    def finish(self, answers: Mapping[str, object], missed: Mapping[str, str]) -> Analysis:
        self.given.append((dict(answers), dict(missed)))
        verdict = "inconclusive" if missed else "pass"
        return Analysis((CheckResult(name="x", verdict=verdict),))


def answer(value: object) -> Part:
    return lambda _deadline: value


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


def hand_runner() -> tuple[AnalysisRunner, HandPool, Clock]:
    pool, clock = HandPool(), Clock()
    return AnalysisRunner(clock=clock, pool=pool), pool, clock


def test_the_caller_never_waits_and_the_last_part_wakes_the_model() -> None:
    runner, pool, _ = hand_runner()
    g, wake = Parts({"probe#0": answer(True), "eval canary": answer(0.9)}), Wakes()
    assert runner.poll(KEY, ("new",), lambda: g, wake).pending
    assert runner.in_flight() == 1
    pool.run(0)
    assert wake.count == 0 and runner.poll(KEY, ("new",), lambda: g, wake).pending
    pool.run(1)
    assert wake.count == 1
    done = runner.poll(KEY, ("new",), lambda: g, wake)
    assert not done.pending and done.checks[0].verdict == "pass"
    assert g.given == [({"probe#0": True, "eval canary": 0.9}, {})]


def test_what_misses_the_deadline_is_left_out_with_a_reason_and_cancelled() -> None:
    runner, pool, clock = hand_runner()
    g = Parts({"probe#0": answer(True), "query#0": answer(1.0), "eval canary": answer(0.5)})
    runner.poll(KEY, ("new",), lambda: g, Wakes())
    pool.run(0)
    clock.now += 3.9
    assert runner.poll(KEY, ("new",), lambda: g, Wakes()).pending
    assert runner.seconds_left(KEY) == pytest.approx(0.1, abs=0.02)
    clock.now += 0.1
    done = runner.poll(KEY, ("new",), lambda: g, Wakes())
    assert done.checks[0].verdict == "inconclusive"
    answers, missed = g.given[0]
    assert answers == {"probe#0": True}
    assert missed == {"query#0": "no answer in time", "eval canary": "no answer in time"}
    assert all(f.cancelled() for f, _, _ in pool.jobs[1:])  # never started: no thread held
    assert runner.seconds_left(KEY) is None


def test_a_part_that_starts_or_answers_after_the_deadline_does_not_count() -> None:
    runner, pool, clock = hand_runner()

    def slow(_: Deadline) -> str:
        clock.now += 5.0  # it answers, but after the deadline
        return "late"

    g = Parts({"webhook:gate#0": slow, "query#0": answer(1.0), "probe#0": answer(False)})
    runner.poll(KEY, ("new",), lambda: g, Wakes())
    pool.run(2)
    pool.run(0)
    pool.run(1)  # starts after the deadline: not even called
    runner.poll(KEY, ("new",), lambda: g, Wakes())
    answers, missed = g.given[0]
    assert answers == {"probe#0": False}
    assert set(missed) == {"webhook:gate#0", "query#0"}


def test_a_part_that_raises_is_missed_with_its_error() -> None:
    runner, pool, _ = hand_runner()

    def broken(_: Deadline) -> None:
        raise RuntimeError("bad answer")

    g = Parts({"query#0": broken})
    runner.poll(KEY, ("new",), lambda: g, Wakes())
    pool.run(0)
    runner.poll(KEY, ("new",), lambda: g, Wakes())
    assert g.given[0][1] == {"query#0": "RuntimeError: bad answer"}


def test_a_finished_analysis_is_kept_for_its_basis_and_a_new_basis_starts_anew() -> None:
    runner, pool, _ = hand_runner()
    started: list[Parts] = []

    def start() -> Parts:
        started.append(Parts({"probe#0": answer(True)}))
        return started[-1]

    runner.poll(KEY, ("new", 0), start, Wakes())
    pool.run(0)
    first = runner.poll(KEY, ("new", 0), start, Wakes())
    assert runner.poll(KEY, ("new", 0), start, Wakes()) is first  # a stale plan retried
    assert len(started) == 1
    assert runner.poll(KEY, ("new", 1), start, Wakes()).pending
    assert len(started) == 2


def test_a_forgotten_analysis_cancels_its_parts_and_wakes_nobody() -> None:
    runner, pool, _ = hand_runner()
    wake = Wakes()
    runner.poll(KEY, ("new",), lambda: Parts({"a": answer(1), "b": answer(2)}), wake)
    pool.run(0)
    runner.forget(KEY)
    pool.run(1)
    assert pool.jobs[1][0].cancelled() and wake.count == 0
    assert runner.in_flight() == 0


def test_an_analysis_without_parts_is_finished_at_once() -> None:
    runner, _, _ = hand_runner()
    g = Parts({})
    assert not runner.poll(KEY, ("new",), lambda: g, Wakes()).pending
    assert g.given == [({}, {})]


def test_parts_run_at_once_on_the_pool_not_on_the_caller() -> None:
    names = ["probe#0", "probe#1", "query#0", "eval canary", "eval stable"]
    together = threading.Barrier(len(names), timeout=WAIT)
    release = threading.Event()

    def part(name: str) -> Part:
        def run(_: Deadline) -> str:
            together.wait()  # breaks unless every part runs at the same time
            release.wait(WAIT)
            return name

        return run

    runner = AnalysisRunner(workers=len(names))
    g, wake = Parts({n: part(n) for n in names}, seconds=3600.0), Wakes()
    assert runner.poll(KEY, ("new",), lambda: g, wake).pending  # returned with every part held
    release.set()
    assert wake.event.wait(WAIT)
    assert not runner.poll(KEY, ("new",), lambda: g, wake).pending
    assert g.given == [({n: n for n in names}, {})]
    runner.shutdown()


def test_the_pool_bounds_parts_in_flight_across_the_fleet() -> None:
    lock, release = threading.Lock(), threading.Event()
    running, peak = [0], [0]
    two_running = threading.Event()

    def held(_: Deadline) -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == 2:
                two_running.set()
        release.wait(WAIT)
        with lock:
            running[0] -= 1
        return True

    runner = AnalysisRunner(workers=2, pool=ThreadPoolExecutor(2))
    wakes = {m: Wakes() for m in ("a", "b", "c")}
    gatherings = {m: Parts({"p#0": held, "p#1": held}, seconds=3600.0) for m in wakes}
    for m, wake in wakes.items():
        key = ("model", "team", m)
        assert runner.poll(key, ("new",), partial(gatherings.__getitem__, m), wake).pending
    assert two_running.wait(WAIT)
    release.set()
    assert all(w.event.wait(WAIT) for w in wakes.values())
    assert peak[0] == 2
    runner.shutdown()


@pytest.mark.parametrize(
    ("interval", "seconds"), [(1, 0.5), (2, 1.0), (5, 4.0), (30, 24.0), (3600, 300.0)]
)
def test_the_deadline_is_shorter_than_the_interval_and_bounded(
    interval: int, seconds: float
) -> None:
    assert deadline_seconds(interval) == seconds


def test_a_request_timeout_never_reaches_past_the_deadline() -> None:
    clock = Clock()
    deadline = Deadline.after(4.0, clock)
    assert deadline.timeout(10.0) == 4.0
    clock.now += 3.0
    assert deadline.timeout(0.5) == 0.5
    assert deadline.timeout(10.0) == pytest.approx(1.0)
    clock.now += 1.0
    with pytest.raises(TimeoutError):
        deadline.timeout(10.0)
