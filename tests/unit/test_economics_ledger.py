"""The cost ledger: GPU time follows replicas over time (scale to zero included), counters are
differenced per pod (restarts counted), and the window sums the right buckets."""

from __future__ import annotations

import pytest

from slmfleet.economics.ledger import Counters, Usage, advance, rebucketed, start, window

pytestmark = pytest.mark.unit

HOUR = 3600.0


@pytest.mark.parametrize(
    ("steps", "gpu_hours", "cost"),
    [
        # (seconds since start, GPUs from then on, price from then on)
        ([(0, 1, 0.35), (3600, 1, 0.35)], 1.0, 0.35),
        ([(0, 2, 1.0), (1800, 0, 1.0), (3600, 0, 1.0)], 1.0, 1.0),  # scale to zero
        ([(0, 0, 1.0), (1800, 4, 1.0), (2700, 4, 1.0)], 1.0, 1.0),  # scale from zero
        ([(0, 1, 1.0), (1800, 1, 2.0), (3600, 1, 2.0)], 1.0, 1.5),  # the price changes
        ([(0, 3, 0.5), (10, 3, 0.5), (20, 3, 0.5), (3620, 3, 0.5)], 3.0166667, 1.5083333),
    ],
)
def test_gpu_time_follows_replicas(
    steps: list[tuple[float, int, float]], gpu_hours: float, cost: float
) -> None:
    t0 = 1_000_000.0
    ledger = start(t0, steps[0][1], steps[0][2], 300)
    for at, gpus, price in steps[1:]:
        ledger = advance(ledger, t0 + at, gpus, price, None)
    assert ledger.total.gpu_hours == pytest.approx(gpu_hours)
    assert ledger.total.cost == pytest.approx(cost)
    assert sum(b.usage.gpu_hours for b in ledger.buckets) == pytest.approx(gpu_hours)


def test_missing_price_is_counted_apart() -> None:
    ledger = start(0.0, 1, None, 300)
    ledger = advance(ledger, 1800.0, 1, 2.0, None)
    ledger = advance(ledger, 3600.0, 1, 2.0, None)
    assert ledger.total.gpu_hours == pytest.approx(1.0)
    assert ledger.total.unpriced_gpu_hours == pytest.approx(0.5)
    assert ledger.total.cost == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("before", "now", "counted"),
    [
        (None, Counters(10, 20, 1), Counters(10, 20, 1)),  # a new pod: all of it
        (Counters(10, 20, 1), Counters(15, 30, 2), Counters(5, 10, 1)),
        (Counters(100, 200, 9), Counters(4, 6, 1), Counters(4, 6, 1)),  # the engine restarted
        (Counters(10, 20, 1), Counters(10, 20, 1), Counters(0, 0, 0)),
    ],
)
def test_counters_since(before: Counters | None, now: Counters, counted: Counters) -> None:
    assert now.since(before) == counted


def test_tokens_are_differenced_per_pod_and_absent_pods_kept_while_alive() -> None:
    ledger = start(0.0, 1, 1.0, 300)
    ledger = advance(ledger, 10.0, 1, 1.0, {"a": Counters(100, 50, 2)}, {"a"})
    ledger = advance(ledger, 20.0, 1, 1.0, {"b": Counters(10, 5, 1)}, {"a", "b"})
    assert set(ledger.counters) == {"a", "b"}  # a missed a scrape; it still runs
    ledger = advance(ledger, 30.0, 1, 1.0, {"a": Counters(130, 60, 3)}, {"a"})
    assert set(ledger.counters) == {"a"}  # b is gone
    assert (ledger.total.prompt_tokens, ledger.total.generation_tokens) == (140, 65)
    assert ledger.total.requests == 4


def test_unreadable_counters_keep_the_readings() -> None:
    ledger = start(0.0, 1, 1.0, 300)
    ledger = advance(ledger, 10.0, 1, 1.0, {"a": Counters(100, 0, 1)}, {"a"})
    ledger = advance(ledger, 20.0, 1, 1.0, None, {"a"})
    ledger = advance(ledger, 30.0, 1, 1.0, {"a": Counters(150, 0, 2)}, {"a"})
    assert ledger.total.prompt_tokens == 150


def test_window_sums_recent_buckets_and_drops_old_ones() -> None:
    ledger = start(0.0, 1, 1.0, 300)
    ledger = advance(ledger, 3 * HOUR, 1, 1.0, {"a": Counters(1000, 0, 1)}, {"a"}, HOUR)
    usage, seconds = window(ledger, ledger.observed, HOUR)
    assert usage.gpu_hours == pytest.approx(1.0)
    assert seconds == pytest.approx(HOUR)
    assert usage.prompt_tokens == 1000
    assert ledger.total.gpu_hours == pytest.approx(3.0)
    assert len(ledger.buckets) <= HOUR / 300 + 1  # bounded


def test_young_model_window_spans_its_life() -> None:
    ledger = start(1000.0, 2, 1.0, 300)
    ledger = advance(ledger, 1450.0, 2, 1.0, None)
    usage, seconds = window(ledger, ledger.observed, HOUR)
    assert seconds == pytest.approx(450.0)
    assert usage.gpu_hours == pytest.approx(0.25)


def test_a_new_window_length_starts_the_buckets_over() -> None:
    ledger = advance(start(0.0, 1, 1.0, 300), 600.0, 1, 1.0, None)
    assert rebucketed(ledger, 300) is ledger
    resized = rebucketed(ledger, 60)
    assert resized.buckets == () and resized.total == ledger.total
    resized = advance(resized, 660.0, 1, 1.0, None, window_seconds=720)
    assert [b.start for b in resized.buckets] == [600.0]


def test_clock_step_back_charges_nothing() -> None:
    ledger = advance(start(100.0, 1, 1.0, 300), 50.0, 2, 1.0, None)
    assert ledger.total == Usage()
    assert ledger.gpus == 2
