"""How far an eval has got: counted per case in memory, shown at a bounded rate.

The eval's threads count each case as it ends (a lock and an integer, nothing written). The
model's actor reads :meth:`ProgressTracker.shown`, a snapshot refreshed at most once every
``every`` seconds and not before the eval has run that long: a short eval shows no progress at
all, a long one changes status at most once per ``every`` seconds, never per case, and a model
without an eval in flight has no tracker. The actor is due again when the next refresh is
(:meth:`ProgressTracker.due_in`), until the eval ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from slmfleet.api.eval_progress import EvalProgress, SideProgress
from slmfleet.timefmt import format_time

EVAL_PROGRESS_SECONDS = 5.0
"""The least time between two shown snapshots of one eval (and before the first)."""
EARLY_SECONDS = 0.05
"""A timer that fires this much early still refreshes (it is not put off a whole period)."""


class ProgressTracker:
    """The progress of one eval: cases done per side, shown every ``every`` seconds."""

    def __init__(
        self,
        suite: str,
        started_at: datetime,
        every: float = EVAL_PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.suite = suite
        self._started_at = format_time(started_at)
        self._every, self._clock = every, clock
        self._lock = threading.Lock()
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._ended = False
        self._refreshed = clock()
        self._shown: EvalProgress | None = None

    def begin(self, side: str, total: int) -> Callable[[], None]:
        """Count ``side``'s ``total`` cases from now; the callable counts one more done."""
        with self._lock:
            self._totals[side], self._done[side] = total, 0
        return partial(self._count, side)

    def _count(self, side: str) -> None:
        with self._lock:
            self._done[side] += 1

    def end(self) -> None:
        """The eval ended (a result or an error): the snapshot stays as it is until the
        analysis is counted, and nothing more is due for it."""
        with self._lock:
            self._ended = True

    def shown(self) -> EvalProgress | None:
        """The progress to write now: refreshed once ``every`` seconds passed since the last
        refresh (the first: since the start); None before that."""
        with self._lock:
            now = self._clock()
            if not self._ended and now + EARLY_SECONDS >= self._refreshed + self._every:
                self._refreshed = now
                sides = [
                    SideProgress(side=side, done=self._done[side], total=total)
                    for side, total in self._totals.items()
                ]
                self._shown = EvalProgress(
                    suite=self.suite, started_at=self._started_at, sides=sides
                )
            return self._shown

    def due_in(self) -> float | None:
        """Seconds until the next refresh; None once the eval ended."""
        with self._lock:
            if self._ended:
                return None
            return max(0.0, self._refreshed + self._every - self._clock())
