"""The fleet scheduler: due times, duplicate keys, busy keys, failures with backoff."""

from __future__ import annotations

import asyncio
import threading

import pytest

from slmfleet.workqueue import DueQueue, Key, Scheduler, backoff_seconds

pytestmark = pytest.mark.unit


def test_keys_come_out_in_due_order_and_only_when_due() -> None:
    q = DueQueue()
    q.add(("model", "a", "x"), 5.0)
    q.add(("model", "a", "y"), 1.0)
    q.add(("routes", "a"), 3.0)
    assert q.next_due() == 1.0
    assert q.pop_due(0.5) == []
    assert q.pop_due(3.0) == [("model", "a", "y"), ("routes", "a")]
    assert q.pop_due(10.0) == [("model", "a", "x")]
    assert len(q) == 0 and q.next_due() is None


@pytest.mark.parametrize(
    ("first", "second", "due"),
    [
        (5.0, 1.0, 1.0),  # an earlier due time wins
        (1.0, 5.0, 1.0),  # a later one does not postpone the key (debounce keeps the first)
        (2.0, 2.0, 2.0),
    ],
)
def test_a_key_added_twice_is_one_key_at_the_earliest_time(
    first: float, second: float, due: float
) -> None:
    q = DueQueue()
    key = ("model", "ns", "m")
    q.add(key, first)
    q.add(key, second)
    assert len(q) == 1
    assert q.next_due() == due
    assert q.pop_due(100.0) == [key]


def test_a_discarded_key_never_comes_out() -> None:
    q = DueQueue()
    q.add(("a",), 1.0)
    q.add(("b",), 2.0)
    q.discard(("a",))
    assert q.next_due() == 2.0
    assert q.pop_due(5.0) == [("b",)]


@pytest.mark.parametrize(("failures", "delay"), [(1, 1.0), (2, 2.0), (5, 16.0), (30, 300.0)])
def test_backoff_doubles_up_to_five_minutes(failures: int, delay: float) -> None:
    assert backoff_seconds(failures) == delay


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _until(condition: object, loop_turns: int = 2000) -> None:
    for _ in range(loop_turns):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")


async def test_handlers_run_by_kind_and_are_rescheduled_by_their_answer() -> None:
    seen: list[Key] = []
    clock = Clock()

    def model(key: Key) -> float | None:
        seen.append(key)
        return 30.0  # due again in 30 s

    scheduler = Scheduler({"model": model}, workers=2, clock=clock)
    task = asyncio.create_task(scheduler.run())
    try:
        scheduler.enqueue(("model", "ns", "a"))
        await _until(lambda: scheduler.handled == 1)
        assert seen == [("model", "ns", "a")]
        assert scheduler.depth == 1  # sleeping until its due time, not handled again
        clock.now = 31.0
        scheduler.enqueue(("model", "ns", "other"), 1000.0)  # wakes the loop to look at the clock
        await _until(lambda: scheduler.handled == 2)
        assert seen == [("model", "ns", "a")] * 2
    finally:
        task.cancel()


async def test_an_event_during_a_run_runs_the_key_once_more_after_it() -> None:
    release = threading.Event()
    calls: list[Key] = []

    def slow(key: Key) -> float | None:
        calls.append(key)
        if len(calls) == 1:
            release.wait(5)
        return None

    scheduler = Scheduler({"model": slow}, workers=4)
    task = asyncio.create_task(scheduler.run())
    try:
        key = ("model", "ns", "a")
        scheduler.enqueue(key)
        await _until(lambda: len(calls) == 1)
        scheduler.enqueue(key)  # while it runs: never twice at once, but once more after
        scheduler.enqueue(key)
        await _until(lambda: key in scheduler._dirty)
        assert len(calls) == 1
        release.set()
        await _until(lambda: scheduler.handled == 2)
        assert calls == [key, key]
    finally:
        task.cancel()


async def test_a_failing_handler_is_retried_with_backoff_not_dropped() -> None:
    clock = Clock()
    calls: list[float] = []

    def flaky(key: Key) -> float | None:
        calls.append(clock.now)
        if len(calls) < 3:
            raise RuntimeError("API down")
        return None

    scheduler = Scheduler({"model": flaky}, workers=1, clock=clock)
    task = asyncio.create_task(scheduler.run())
    try:
        scheduler.enqueue(("model", "ns", "a"))
        await _until(lambda: len(calls) == 1)
        await _until(lambda: scheduler.depth == 1 and ("model", "ns", "a") in scheduler._queue)
        clock.now = 1.0  # first backoff: 1 s
        scheduler.enqueue(("wake",), 1000.0)
        await _until(lambda: len(calls) == 2)
        clock.now = 2.5  # second backoff: 2 s after t=1
        await _until(lambda: ("model", "ns", "a") in scheduler._queue)
        clock.now = 3.0
        scheduler.enqueue(("wake",), 1000.0)
        await _until(lambda: len(calls) == 3)
        assert calls == [0.0, 1.0, 3.0]
    finally:
        task.cancel()


async def test_keys_wait_in_the_queue_for_a_free_worker_and_their_events_collapse() -> None:
    release = threading.Event()
    calls: list[Key] = []

    def slow(key: Key) -> float | None:
        calls.append(key)
        if key[-1] == "a":
            release.wait(5)
        return None

    scheduler = Scheduler({"model": slow}, workers=1)
    task = asyncio.create_task(scheduler.run())
    try:
        a, b = ("model", "ns", "a"), ("model", "ns", "b")
        scheduler.enqueue(a)
        await _until(lambda: calls == [a])
        for _ in range(5):  # b's events while every worker is busy: b waits in the queue, once
            scheduler.enqueue(b)
        await _until(lambda: b in scheduler._queue)
        assert b not in scheduler._busy and scheduler.depth == 2
        release.set()
        await _until(lambda: scheduler.handled == 2)
        assert calls == [a, b]  # b ran once for its five events
    finally:
        task.cancel()


def test_pop_due_takes_at_most_limit_keys_earliest_first() -> None:
    q = DueQueue()
    for i, at in enumerate((3.0, 1.0, 2.0)):
        q.add(("k", str(i)), at)
    assert q.pop_due(10.0, 2) == [("k", "1"), ("k", "2")]
    assert q.pop_due(10.0, 0) == []
    assert q.pop_due(10.0) == [("k", "0")]
