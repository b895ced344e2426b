"""Analyses gathered off the scheduler's workers: all parts at once, under one deadline.

The model actor never waits for an analysis. When one is due it starts its parts on this pool
(one bounded pool for the whole fleet, so many models analysing at once cannot starve the
scheduler's workers) and plans without it; the part that completes last enqueues the model, and
the model's due time is the deadline at the latest. The next run of the actor takes the finished
analysis: parts that did not answer by the deadline are left out (cancelled if not started) and
make it inconclusive, never waited for. An analysis counts as of when it started, so a slow
canary does not space its own analyses out.

One analysis per model at a time, kept until the plan has counted it (a plan refused as stale
takes the same result again) or the model no longer wants it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from slmfleet.analysis.deadline import Deadline
from slmfleet.analysis.eval_progress import ProgressTracker
from slmfleet.handlers.rollout_analysis import Part
from slmfleet.reconcile.model_plan import Analysis
from slmfleet.redact import redact
from slmfleet.workqueue import Key

Basis = tuple[object, ...]
"""What an analysis was started for (revisions, step, the last analysis' time)."""
DUE_SLACK_SECONDS = 0.01


class Gathering(Protocol):
    """The parts of one analysis (handlers/rollout_analysis.py) and how they are judged."""

    @property
    def parts(self) -> Mapping[str, Part]: ...

    @property
    def seconds(self) -> float:
        """The deadline, from the start."""
        ...

    @property
    def progress(self) -> ProgressTracker | None:
        """The progress of its eval, when it has one."""
        ...

    def finish(self, answers: Mapping[str, object], missed: Mapping[str, str]) -> Analysis: ...


class DeadlineMissedError(Exception):
    """A part that started or finished after its analysis' deadline."""


@dataclass
class _Entry:
    basis: Basis
    gathering: Gathering
    deadline: Deadline
    futures: dict[str, Future[object]] = field(default_factory=dict)
    result: Analysis | None = None

    def done(self) -> bool:
        return all(f.done() for f in self.futures.values())


def _why(error: BaseException) -> str:
    if isinstance(error, DeadlineMissedError):
        return "no answer in time"
    return redact(f"{type(error).__name__}: {error}")[:80]


class AnalysisRunner:
    """The analyses in flight, by model key, and the pool their parts run on."""

    def __init__(
        self,
        workers: int = 32,
        clock: Callable[[], float] = time.monotonic,
        pool: Executor | None = None,
    ) -> None:
        self._pool = pool or ThreadPoolExecutor(workers, thread_name_prefix="slmfleet-analysis")
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()

    def poll(
        self, key: Key, basis: Basis, start: Callable[[], Gathering], wake: Callable[[], None]
    ) -> Analysis:
        """The analysis of ``key`` for ``basis``: finished, or ``pending`` (started now if it
        was not running). ``wake`` is called from the pool when its last part completes."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.basis != basis:
            self.forget(key)
            entry = self._start(key, basis, start(), wake)
        if entry.result is None and (entry.done() or entry.deadline.passed()):
            entry.result = self._finish(entry)
        if entry.result is not None:
            return entry.result
        progress = entry.gathering.progress
        return Analysis(pending=True, progress=progress.shown() if progress else None)

    def seconds_left(self, key: Key) -> float | None:
        """Until the deadline of the analysis in flight for ``key``, or until its eval's
        progress is next shown, if sooner (None: none is in flight)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.result is not None:
            return None
        left = max(0.0, entry.deadline.left())
        progress = entry.gathering.progress
        shown = progress.due_in() if progress else None
        return (left if shown is None else min(left, shown)) + DUE_SLACK_SECONDS

    def forget(self, key: Key) -> None:
        """Drop the analysis of ``key``; parts not started are cancelled."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None:
            for future in entry.futures.values():
                future.cancel()

    def in_flight(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.result is None)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, key: Key, basis: Basis, g: Gathering, wake: Callable[[], None]) -> _Entry:
        entry = _Entry(basis, g, Deadline.after(g.seconds, self._clock))
        with self._lock:
            self._entries[key] = entry
        for name, part in g.parts.items():
            entry.futures[name] = self._pool.submit(self._run, part, entry.deadline)

        def completed(_: Future[object]) -> None:
            with self._lock:
                current = self._entries.get(key) is entry
            if current and entry.result is None and entry.done():
                wake()

        for future in list(entry.futures.values()):
            future.add_done_callback(completed)
        return entry

    @staticmethod
    def _run(part: Part, deadline: Deadline) -> object:
        if deadline.passed():
            raise DeadlineMissedError  # queued behind other analyses past its deadline
        answer = part(deadline)
        if deadline.passed():
            raise DeadlineMissedError  # an answer after the deadline is not waited for
        return answer

    def _finish(self, entry: _Entry) -> Analysis:
        answers: dict[str, object] = {}
        missed: dict[str, str] = {}
        for name, future in entry.futures.items():
            if not future.done():
                future.cancel()
                missed[name] = "no answer in time"
            elif future.cancelled():
                missed[name] = "no answer in time"
            elif (error := future.exception()) is not None:
                missed[name] = _why(error)
            else:
                answers[name] = future.result()
        return entry.gathering.finish(answers, missed)
