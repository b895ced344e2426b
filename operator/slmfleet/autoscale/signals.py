"""Autoscaling signals read from Prometheus, behind a small provider interface.

The engine pods are scraped with the labels ``namespace`` and ``slmfleet_io_model`` (pod label
``slmfleet.io/model``). Two metrics of the namespace's router are read as well:

- ``slmfleet_router_held_requests{model=<served name>}``: requests the router holds because the
  model has no ready endpoint. This is the scale-from-zero signal: a request for a model at zero
  replicas waits in the router (up to its backend's hold, sized from its cold start) while the
  autoscaler, which sees the gauge above zero, brings one replica up; the router forwards it.
- ``slmfleet_router_in_flight_requests{route=<served name>}``: requests being served on the
  model's own route, for the routerInFlight target (requests reaching the model through another
  route's alias are not counted).
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slmfleet.autoscale.decision import Signals

Fetch = Callable[[str, float], Any]


@dataclass(frozen=True)
class SignalQuery:
    """Which model to read signals for, and over which windows."""

    namespace: str
    model: str
    served_name: str
    window_seconds: int
    idle_seconds: int


class SignalProvider(Protocol):
    """Anything that can read a model's signals."""

    def read(self, query: SignalQuery) -> Signals: ...


def _quote(value: str) -> str:
    return json.dumps(value)  # a PromQL string literal is a JSON string literal for these names


def queries(q: SignalQuery) -> dict[str, str]:
    """The PromQL of each signal (pure)."""
    pods = f"namespace={_quote(q.namespace)},slmfleet_io_model={_quote(q.model)}"
    ns = f"namespace={_quote(q.namespace)}"
    held = f"{ns},model={_quote(q.served_name)}"
    route = f"{ns},route={_quote(q.served_name)}"
    w, idle = f"{q.window_seconds}s", f"{q.idle_seconds}s"
    return {
        "pods": f"count(vllm:num_requests_waiting{{{pods}}})",
        "waiting": f"avg(avg_over_time(vllm:num_requests_waiting{{{pods}}}[{w}]))",
        "kv_cache": f"avg(avg_over_time(vllm:kv_cache_usage_perc{{{pods}}}[{w}]))",
        "running": f"sum(vllm:num_requests_running{{{pods}}})",
        # Finished over the idle window: the counter now minus the counter then, where a series
        # newer than the window counts from zero (increase() would miss its first requests).
        "finished": (
            f"clamp_min(sum(vllm:request_success_total{{{pods}}})"
            f" - (sum(vllm:request_success_total{{{pods}}} offset {idle}) or vector(0)), 0)"
        ),
        "router_in_flight": (
            f"sum(avg_over_time(slmfleet_router_in_flight_requests{{{route}}}[{w}]))"
        ),
        "held": f"sum(slmfleet_router_held_requests{{{held}}})",
    }


def scalar(result: Any) -> float | None:
    """The single value of an aggregated instant-query vector; None for an empty vector."""
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) else value  # NaN: no samples in the window, no data


def _http_fetch(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class PrometheusSignals:
    """Signals from the Prometheus HTTP API (instant queries)."""

    def __init__(self, base_url: str, timeout: float = 5.0, fetch: Fetch = _http_fetch) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._fetch = fetch

    def vector(self, promql: str) -> list[dict[str, Any]]:
        """The result of an instant query: a list of series with their labels and value."""
        url = f"{self.base_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        body = self._fetch(url, self.timeout)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus query failed: {body.get('error', body)}")
        return list(body["data"]["result"])

    def query(self, promql: str) -> float | None:
        return scalar(self.vector(promql))

    def read(self, query: SignalQuery) -> Signals:
        values = {name: self.query(promql) for name, promql in queries(query).items()}
        return Signals(
            pods=int(values["pods"] or 0),
            waiting=values["waiting"],
            kv_cache=values["kv_cache"],
            router_in_flight=values["router_in_flight"],
            running=values["running"],
            finished_in_idle_window=values["finished"],
            held=values["held"] or 0.0,
        )


class NoSignals:
    """The provider when no Prometheus is configured: every read is empty (the decision holds)."""

    def read(self, query: SignalQuery) -> Signals:
        return Signals()
