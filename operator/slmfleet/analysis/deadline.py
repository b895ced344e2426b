"""The deadline of one analysis: shorter than the analysis interval, so a slow canary cannot
space its own analyses out (what has not answered by then is inconclusive, never waited for).

Every request an analysis makes takes its timeout from :meth:`Deadline.timeout`: never past the
deadline, and refused once it has passed, so a part of an analysis holds a thread at most until
the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_SECONDS = 0.5
MAX_SECONDS = 300.0
MARGIN_SHARE = 0.2
MIN_MARGIN_SECONDS = 1.0


def deadline_seconds(interval_seconds: float) -> float:
    """The interval less a margin (a fifth of it, at least 1 s), within 0.5 s..300 s."""
    margin = max(MIN_MARGIN_SECONDS, MARGIN_SHARE * interval_seconds)
    return min(MAX_SECONDS, max(MIN_SECONDS, interval_seconds - margin))


class Deadline:
    """A moment on a monotonic clock (injected, so tests move it by hand)."""

    def __init__(self, at: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.at = at
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def left(self) -> float:
        return self.at - self._clock()

    def passed(self) -> bool:
        return self.left() <= 0

    def timeout(self, wanted: float) -> float:
        """``wanted`` cut to the time left; TimeoutError (an OSError) once the deadline passed."""
        left = self.left()
        if left <= 0:
            raise TimeoutError("the analysis deadline passed")
        return min(wanted, left)
