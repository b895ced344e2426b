"""Fleet-batched signals: one query per signal for every model, read back per model exactly as
the per-model queries would give them."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.autoscale.batch import FleetSignals, fleet_queries
from slmfleet.autoscale.decision import Signals
from slmfleet.autoscale.signals import SignalQuery

pytestmark = pytest.mark.unit


def series(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [0, str(value)]}


PODS_A = {"namespace": "team", "slmfleet_io_model": "a"}
PODS_B = {"namespace": "team", "slmfleet_io_model": "b"}
RESULTS = {
    "pods": [series(2, **PODS_A), series(1, **PODS_B)],
    "waiting": [series(3.5, **PODS_A), series(float("nan"), **PODS_B)],
    "kv_cache": [series(0.4, **PODS_A)],
    "running": [series(7, **PODS_A), series(0, **PODS_B)],
    "finished_now": [series(120, **PODS_A), series(5, **PODS_B)],
    "finished_then": [series(100, **PODS_A)],  # b's counter is newer than the idle window
    "router_in_flight": [series(4, namespace="team", route="served-a")],
    "held": [series(2, namespace="team", model="served-b")],
}


def fake_query(promql: str) -> list[dict[str, Any]]:
    name = next(n for n, (q, _) in fleet_queries(60, 300).items() if q == promql)
    return RESULTS[name]


def query(model: str, served: str) -> SignalQuery:
    return SignalQuery("team", model, served, window_seconds=60, idle_seconds=300)


def test_one_batch_answers_each_model_as_its_own_queries_would() -> None:
    fleet = FleetSignals.fetch(fake_query, 60, 300)
    assert fleet.read(query("a", "served-a")) == Signals(
        pods=2, waiting=3.5, kv_cache=0.4, router_in_flight=4.0, running=7.0,
        finished_in_idle_window=20.0, held=0.0,
    )  # fmt: skip
    assert fleet.read(query("b", "served-b")) == Signals(
        pods=1, waiting=None, kv_cache=None, router_in_flight=None, running=0.0,
        finished_in_idle_window=5.0, held=2.0,
    )  # fmt: skip


def test_a_model_with_no_series_has_no_data() -> None:
    assert FleetSignals.fetch(fake_query, 60, 300).read(query("c", "served-c")) == Signals()


def test_the_batch_groups_by_model_and_keeps_windows() -> None:
    queries = fleet_queries(30, 120)
    assert len(queries) == 8  # one query per signal, whatever the fleet's size
    assert "by (namespace, slmfleet_io_model)" in queries["waiting"][0]
    assert "[30s]" in queries["kv_cache"][0] and "offset 120s" in queries["finished_then"][0]
