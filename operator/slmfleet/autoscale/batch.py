"""Signals of the whole fleet from one batch of Prometheus queries (one per signal, grouped by
model), instead of seven queries per model and pass.

``fleet_queries`` are the per-model queries of signals.py with ``by (namespace, model)`` added;
``FleetSignals`` holds their vectors and answers ``read(query)`` for any one model exactly as
``PrometheusSignals.read`` would (a missing series is no data, a counter that did not exist at
the start of the idle window counts from zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from slmfleet.autoscale.decision import Signals
from slmfleet.autoscale.signals import SignalQuery

PODS = ("namespace", "slmfleet_io_model")
ROUTE = ("namespace", "route")
HELD = ("namespace", "model")

Vector = dict[tuple[str, ...], float]
QueryVector = Callable[[str], list[dict[str, Any]]]


def fleet_queries(window_seconds: int, idle_seconds: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """PromQL of each signal for every model at once, and the labels its series are keyed by."""
    w, idle = f"{window_seconds}s", f"{idle_seconds}s"
    by = f"by ({', '.join(PODS)})"
    return {
        "pods": (f"count {by} (vllm:num_requests_waiting)", PODS),
        "waiting": (f"avg {by} (avg_over_time(vllm:num_requests_waiting[{w}]))", PODS),
        "kv_cache": (f"avg {by} (avg_over_time(vllm:kv_cache_usage_perc[{w}]))", PODS),
        "running": (f"sum {by} (vllm:num_requests_running)", PODS),
        "finished_now": (f"sum {by} (vllm:request_success_total)", PODS),
        "finished_then": (f"sum {by} (vllm:request_success_total offset {idle})", PODS),
        "router_in_flight": (
            f"sum by ({', '.join(ROUTE)}) (avg_over_time(slmfleet_router_in_flight_requests[{w}]))",
            ROUTE,
        ),
        "held": (f"sum by ({', '.join(HELD)}) (slmfleet_router_held_requests)", HELD),
    }


def to_vector(result: list[dict[str, Any]], labels: tuple[str, ...]) -> Vector:
    out: Vector = {}
    for series in result:
        metric = series.get("metric") or {}
        value = float(series["value"][1])
        if not math.isnan(value):
            out[tuple(str(metric.get(label, "")) for label in labels)] = value
    return out


class FleetSignals:
    """The signals of every model, read once; ``read`` picks one model's."""

    def __init__(self, vectors: Mapping[str, Vector]) -> None:
        self.vectors = dict(vectors)

    @classmethod
    def fetch(cls, query: QueryVector, window_seconds: int, idle_seconds: int) -> FleetSignals:
        return cls(
            {
                name: to_vector(query(promql), labels)
                for name, (promql, labels) in fleet_queries(window_seconds, idle_seconds).items()
            }
        )

    def read(self, q: SignalQuery) -> Signals:
        pods, route, held = (
            (q.namespace, q.model),
            (q.namespace, q.served_name),
            (q.namespace, q.served_name),
        )
        v = self.vectors
        now = v.get("finished_now", {}).get(pods)
        finished = (
            None if now is None else max(0.0, now - v.get("finished_then", {}).get(pods, 0.0))
        )
        return Signals(
            pods=int(v.get("pods", {}).get(pods, 0)),
            waiting=v.get("waiting", {}).get(pods),
            kv_cache=v.get("kv_cache", {}).get(pods),
            router_in_flight=v.get("router_in_flight", {}).get(route),
            running=v.get("running", {}).get(pods),
            finished_in_idle_window=finished,
            held=v.get("held", {}).get(held, 0.0),
        )
