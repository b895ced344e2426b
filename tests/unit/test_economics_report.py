"""status.cost from a ledger, its round trip through status, and when it is written."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api.cost_status import CostStatus
from slmfleet.economics.ledger import Counters, advance, start
from slmfleet.economics.ledger_status import ledger_body, ledger_from_status
from slmfleet.economics.queries import fetch_pod_counters, fetch_route_counts, route_queries
from slmfleet.economics.report import cost_status, worth_writing

pytestmark = pytest.mark.unit


def _ledger(t: float = 3600.0, gpus: int = 1) -> Any:
    ledger = start(0.0, 1, 0.35, 300)
    return advance(ledger, t, gpus, 0.35, {"pod-a": Counters(4e6, 1e6, 1000)}, {"pod-a"})


def test_cost_status_figures() -> None:
    status = cost_status(_ledger(), 3600, 1, 10_000.0, metrics=True)
    CostStatus.model_validate(status)
    assert status["reason"] == "Priced"
    assert status["window"]["costPer1MTokens"] == pytest.approx(0.07)
    assert status["window"]["costPer1kRequests"] == pytest.approx(0.35)
    assert status["sinceCreation"]["gpuHours"] == pytest.approx(1.0)
    assert status["capacityTokensPerSecond"] == pytest.approx(10_000.0)
    assert status["utilization"] == pytest.approx(5e6 / 3600 / 10_000, rel=1e-2)


def test_ledger_round_trips_through_status() -> None:
    body = ledger_body(_ledger())
    back = ledger_from_status({"cost": {"ledger": body}})
    assert back is not None and ledger_body(back) == body
    assert back.total.cost == pytest.approx(0.35) and back.counters["pod-a"].prompt == 4e6
    assert ledger_from_status({"cost": {"ledger": {"started": "soon"}}}) is None
    assert ledger_from_status({}) is None


@pytest.mark.parametrize(
    ("before_t", "after_t", "gpus", "written"),
    [
        (None, 3600.0, 1, True),  # nothing written yet
        (3600.0, 3610.0, 1, False),  # figures moved, but within the cadence
        (3600.0, 3700.0, 1, True),  # figures moved, cadence passed
        (3600.0, 3610.0, 2, True),  # replicas changed: written at once
    ],
)
def test_worth_writing(before_t: float | None, after_t: float, gpus: int, written: bool) -> None:
    before = None if before_t is None else cost_status(_ledger(before_t), 3600, 1, None, True)
    after = cost_status(advance(_ledger(after_t), after_t, gpus, 0.35, None), 3600, 1, None, True)
    assert worth_writing(before, after, 60.0) is written


def test_nothing_to_report_is_not_written_until_gpus_run() -> None:
    ledger = start(0.0, 0, 0.35, 300)
    empty = cost_status(advance(ledger, 30.0, 0, 0.35, {}), 3600, 1, None, True)
    assert worth_writing(None, empty, 60.0) is False  # a model whose replica is not up yet
    running = cost_status(advance(ledger, 40.0, 1, 0.35, {}), 3600, 1, None, True)
    assert worth_writing(None, running, 60.0) is True


def test_a_message_that_quotes_accruing_hours_is_no_news() -> None:
    ledger = start(0.0, 1, None, 300)  # no price: the message counts unpriced GPU-hours
    before = cost_status(advance(ledger, 600.0, 1, None, {}), 3600, 1, None, True)
    after = cost_status(advance(ledger, 1800.0, 1, None, {}), 3600, 1, None, True)
    assert before["message"] != after["message"] and before["reason"] == "NoPrice"
    assert worth_writing(before, after, 60.0) is False


def test_idle_unchanged_model_is_not_written() -> None:
    ledger = start(0.0, 0, 0.35, 300)
    before = cost_status(advance(ledger, 100.0, 0, 0.35, {}), 3600, 1, None, True)
    after = cost_status(advance(ledger, 1000.0, 0, 0.35, {}), 3600, 1, None, True)
    assert worth_writing(before, after, 60.0) is False


def _series(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [0, str(value)]}


def test_fleet_queries_are_read_per_pod_and_route() -> None:
    def query(promql: str) -> list[dict[str, Any]]:
        if "prompt_tokens" in promql:
            return [_series(5, namespace="ns", slmfleet_io_model="m", pod="p1")]
        if "generation_tokens" in promql:
            return [_series(7, namespace="ns", slmfleet_io_model="m", pod="p1")]
        if "request_success" in promql:
            return [_series(1, namespace="ns", slmfleet_io_model="m", pod="p2")]
        if "router_requests" in promql:
            return [_series(3, namespace="ns", route="r", model="small")]
        if "escalations" in promql:
            return [_series(2, namespace="ns", route="r", reason="schema")]
        return []

    counters = fetch_pod_counters(query)
    assert counters == {("ns", "m"): {"p1": Counters(5, 7, 0), "p2": Counters(0, 0, 1)}}
    routes = fetch_route_counts(query, 600)
    assert routes[("ns", "r")].requests == {"small": 3}
    assert routes[("ns", "r")].escalations == {"schema": 2}
    assert all("offset 600s" in q for q in route_queries(600).values())
