"""Derived cost figures: $/1M tokens, $/1k requests, utilization; never a division by zero."""

from __future__ import annotations

import pytest

from slmfleet.economics.capacity import replica_capacity
from slmfleet.economics.figures import (
    NO_METRICS,
    NO_PRICE,
    NO_TRAFFIC,
    PRICED,
    figures,
    sig,
    utilization,
    verdict,
)
from slmfleet.economics.ledger import Usage

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("usage", "seconds", "per_1m", "per_1k", "tps"),
    [
        (Usage(1.0, 0, 0.35, 4e6, 1e6, 10000), 3600, 0.07, 0.035, 5e6 / 3600),
        (Usage(1.0, 0, 0.35), 3600, None, None, 0.0),  # no traffic
        (Usage(1.0, 1.0, 0.0, 1e6, 0, 10), 3600, None, None, 1e6 / 3600),  # no price
        (Usage(), 0, None, None, None),  # nothing at all
        (Usage(0.0, 0, 0.0, 100, 100, 1), 60, 0.0, 0.0, 200 / 60),  # scaled to zero, served
    ],
)
def test_figures(
    usage: Usage, seconds: float, per_1m: float | None, per_1k: float | None, tps: float | None
) -> None:
    got = figures(usage, seconds)
    assert got.cost_per_1m_tokens == (None if per_1m is None else pytest.approx(per_1m))
    assert got.cost_per_1k_requests == (None if per_1k is None else pytest.approx(per_1k))
    assert got.tokens_per_second == (None if tps is None else pytest.approx(tps))


@pytest.mark.parametrize(
    ("usage", "price", "metrics", "reason"),
    [
        (Usage(1, 0, 1, 10, 10, 1), 1.0, True, PRICED),
        (Usage(1, 0, 1), 1.0, True, NO_TRAFFIC),
        (Usage(1, 0, 1), 1.0, False, NO_METRICS),
        (Usage(1, 1, 0, 10, 0, 1), 1.0, True, NO_PRICE),  # an unpriced hour in the window
        (Usage(1, 0, 1, 10, 0, 1), None, True, NO_PRICE),
    ],
)
def test_verdict(usage: Usage, price: float | None, metrics: bool, reason: str) -> None:
    assert verdict(figures(usage, 3600), price, metrics)[0] == reason


@pytest.mark.parametrize(
    ("tps", "capacity", "expected"),
    [(50.0, 100.0, 0.5), (None, 100.0, None), (50.0, None, None), (50.0, 0.0, None)],
)
def test_utilization(tps: float | None, capacity: float | None, expected: float | None) -> None:
    assert utilization(tps, capacity) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [(0.123456789, 4, 0.1235), (123456.0, 3, 123000.0), (0.0, 4, 0.0), (float("nan"), 4, 0.0)],
)
def test_sig(value: float, digits: int, expected: float) -> None:
    assert sig(value, digits) == expected


def test_capacity_roofline() -> None:
    plan = {"weightsGiB": 1.0, "maxNumSeqs": 64, "maxConcurrentSequences": 16}
    step = 1024**3 / 320e9
    assert replica_capacity("Tesla-T4", "nvidia.com/gpu", plan) == pytest.approx(16 / step)
    assert replica_capacity("Unknown-GPU", "nvidia.com/gpu", plan) is None
    assert replica_capacity("NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-1g.10gb", plan) is None
    assert replica_capacity("Tesla-T4", "nvidia.com/gpu", {}) is None
