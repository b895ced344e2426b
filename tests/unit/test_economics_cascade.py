"""Cascade economics: share per tier, escalations by reason, cost per tier and the saving."""

from __future__ import annotations

import pytest

from slmfleet.api.cascade_status import CascadeEconomics
from slmfleet.economics.cascade import RouteCounts, Tier, cascade_status

pytestmark = pytest.mark.unit

TIERS = (Tier("small", "qwen3-small", 0.06), Tier("big", "gpt-big", 10.0))


def test_saving_against_the_last_tier() -> None:
    counts = RouteCounts(
        requests={"qwen3-small": 80, "gpt-big": 20},
        tokens={"qwen3-small": 800_000, "gpt-big": 200_000},
        escalations={"logprob": 15, "schema": 5, "length": 0},
    )
    status = cascade_status(TIERS, counts, 3600)
    CascadeEconomics.model_validate(status)
    assert [t["share"] for t in status["tiers"]] == [0.8, 0.2]
    assert status["tiers"][0]["cost"] == pytest.approx(0.048)
    assert status["tiers"][1]["cost"] == pytest.approx(2.0)
    assert status["cost"] == pytest.approx(2.048)
    assert status["costAllOnLastTier"] == pytest.approx(10.0)
    assert status["saving"] == pytest.approx(7.952)
    assert status["escalations"] == [
        {"reason": "logprob", "count": 15},
        {"reason": "schema", "count": 5},
    ]
    assert status["reason"] == "Priced"


def test_no_traffic_gives_no_share() -> None:
    status = cascade_status(TIERS, RouteCounts({}, {}, {}), 3600)
    assert status["reason"] == "NoTraffic"
    assert all(t["share"] is None for t in status["tiers"])
    assert status["saving"] == 0.0


@pytest.mark.parametrize(
    "tiers",
    [
        (Tier("small", "qwen3-small", None), Tier("big", "gpt-big", 10.0)),  # model not priced
        (Tier("small", "qwen3-small", 0.06), Tier("big", "gpt-big", None)),  # no backend price
    ],
)
def test_a_missing_price_gives_no_saving(tiers: tuple[Tier, ...]) -> None:
    counts = RouteCounts({"qwen3-small": 1, "gpt-big": 1}, {"qwen3-small": 10, "gpt-big": 10}, {})
    status = cascade_status(tiers, counts, 3600)
    assert status["reason"] == "NoPrice"
    assert status["saving"] is None and status["cost"] is None


def test_an_unused_unpriced_tier_does_not_hide_the_saving() -> None:
    tiers = (Tier("small", "s", 0.1), Tier("mid", "m", None), Tier("big", "b", 1.0))
    counts = RouteCounts({"s": 10}, {"s": 1_000_000}, {})
    status = cascade_status(tiers, counts, 60)
    assert status["saving"] == pytest.approx(0.9)
