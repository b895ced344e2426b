"""EscalationBudget: the escalated fraction in a sliding window stays at or under the maximum."""

from __future__ import annotations

import pytest

from slmfleet.router.budget import EscalationBudget, escalation_allowed

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("events", "now", "window", "max_fraction", "allowed"),
    [
        # Empty window: escalating the first request would make the fraction 1/1.
        ([], 10.0, 60.0, 0.2, False),
        ([], 10.0, 60.0, 1.0, True),
        # 4 plain requests: (0 + 1) / (4 + 1) = 0.2 <= 0.2.
        ([(1.0, False)] * 4, 10.0, 60.0, 0.2, True),
        # 3 plain requests: 1 / 4 = 0.25 > 0.2.
        ([(1.0, False)] * 3, 10.0, 60.0, 0.2, False),
        # 1 escalated of 9: (1 + 1) / (9 + 1) = 0.2.
        ([(1.0, True)] + [(2.0, False)] * 8, 10.0, 60.0, 0.2, True),
        # 2 escalated of 9: 3 / 10 = 0.3 > 0.2.
        ([(1.0, True)] * 2 + [(2.0, False)] * 7, 10.0, 60.0, 0.2, False),
        # The escalations at t=1 left the 5 s window (5, 10]: 0 escalated of 4 plain -> 1/5.
        ([(1.0, True)] * 3 + [(6.0, False)] * 4, 10.0, 5.0, 0.2, True),
        # An event exactly at now - window is outside; at now is inside.
        ([(5.0, True)] + [(10.0, False)] * 4, 10.0, 5.0, 0.2, True),
        ([(5.5, True)] + [(10.0, False)] * 4, 10.0, 5.0, 0.2, False),
        # 0.29 of 100: 28 escalated of 99 -> 29 / 100 = 0.29, allowed despite float rounding.
        ([(1.0, True)] * 28 + [(1.0, False)] * 71, 10.0, 60.0, 0.29, True),
        ([(1.0, True)] * 29 + [(1.0, False)] * 70, 10.0, 60.0, 0.29, False),
        # A zero budget never escalates.
        ([(1.0, False)] * 100, 10.0, 60.0, 0.0, False),
    ],
)
def test_escalation_allowed(
    events: list[tuple[float, bool]], now: float, window: float, max_fraction: float, allowed: bool
) -> None:
    assert escalation_allowed(events, now, window, max_fraction) is allowed


@pytest.mark.parametrize(
    ("max_fraction", "requests", "expected_escalations"),
    [
        # Every request wants to escalate, one per second, all inside the window.
        # 0.5: request n (0-based) is allowed when (e + 1) / (n + 1) <= 0.5 -> n = 1, 3, 5, 7, 9.
        (0.5, 10, 5),
        # 0.25: allowed at n = 3, 7 -> 2 of 10.
        (0.25, 10, 2),
        (1.0, 10, 10),
        (0.0, 10, 0),
    ],
)
def test_budget_holds_the_fraction_when_every_request_wants_to_escalate(
    max_fraction: float, requests: int, expected_escalations: int
) -> None:
    budget = EscalationBudget(max_fraction, window_seconds=1000.0)
    escalations = 0
    for second in range(requests):
        allowed = budget.allows(float(second))
        escalations += int(allowed)
        budget.record(float(second), allowed)
        assert budget.fraction(float(second)) <= max_fraction + 1e-9
    assert escalations == expected_escalations


def test_budget_forgets_requests_that_leave_the_window() -> None:
    budget = EscalationBudget(0.5, window_seconds=10.0)
    budget.record(0.0, False)
    assert budget.allows(1.0)  # (0 + 1) / (1 + 1) = 0.5
    budget.record(1.0, True)
    assert budget.fraction(1.0) == 0.5
    assert not budget.allows(2.0)  # (1 + 1) / (2 + 1) = 0.67
    # At t = 11 both events are at or before 11 - 10 = 1: the window is empty again.
    assert budget.fraction(11.0) == 0.0
    assert not budget.allows(11.0)  # an empty window allows nothing below 1.0


@pytest.mark.parametrize(("max_fraction", "window"), [(-0.1, 1.0), (1.1, 1.0), (0.5, 0.0)])
def test_budget_rejects_bad_limits(max_fraction: float, window: float) -> None:
    with pytest.raises(ValueError):
        EscalationBudget(max_fraction, window)
