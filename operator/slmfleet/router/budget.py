"""Escalation budget: cap the fraction of requests a cascade sends to a higher tier.

The decision is a pure function of the recorded (time, escalated) events and `now`; the class
only keeps the events of the sliding window. Time is always passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


def escalation_allowed(
    events: Iterable[tuple[float, bool]], now: float, window_seconds: float, max_fraction: float
) -> bool:
    """Whether one more request may escalate.

    Counts the requests recorded in (now - window_seconds, now] and how many of them escalated,
    then adds the request being decided as an escalated one: it is allowed when
    (escalated + 1) / (requests + 1) <= max_fraction.
    """
    start = now - window_seconds
    requests = 0
    escalated = 0
    for at, did_escalate in events:
        if start < at <= now:
            requests += 1
            escalated += int(did_escalate)
    # The tolerance keeps 0.29 * 100 (28.999999999999996 in floating point) admitting 29.
    return escalated + 1 <= max_fraction * (requests + 1) + 1e-9


class EscalationBudget:
    """The sliding window of one route's cascade outcomes."""

    def __init__(self, max_fraction: float, window_seconds: float) -> None:
        if not 0.0 <= max_fraction <= 1.0:
            raise ValueError("max_fraction must be in [0, 1]")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.max_fraction = max_fraction
        self.window_seconds = window_seconds
        self._events: deque[tuple[float, bool]] = deque()

    def _prune(self, now: float) -> None:
        start = now - self.window_seconds
        while self._events and self._events[0][0] <= start:
            self._events.popleft()

    def allows(self, now: float) -> bool:
        """Whether a request deciding at `now` may escalate."""
        self._prune(now)
        return escalation_allowed(self._events, now, self.window_seconds, self.max_fraction)

    def record(self, now: float, escalated: bool) -> None:
        """Count one finished request, escalated or not."""
        self._prune(now)
        self._events.append((now, escalated))

    def fraction(self, now: float) -> float:
        """The escalated fraction of the requests in the window (0 when there are none)."""
        self._prune(now)
        if not self._events:
            return 0.0
        return sum(1 for _, escalated in self._events if escalated) / len(self._events)
