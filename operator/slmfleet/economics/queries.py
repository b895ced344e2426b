"""The Prometheus queries of the cost pass: one per counter for the whole fleet (grouped by pod
and by route), read into plain mappings (pure apart from the query function it is given)."""

from __future__ import annotations

from collections.abc import Mapping

from slmfleet.autoscale.batch import QueryVector, Vector, to_vector
from slmfleet.economics.cascade import RouteCounts
from slmfleet.economics.ledger import Counters

POD = ("namespace", "slmfleet_io_model", "pod")
ENGINE_COUNTERS = {
    "prompt": "vllm:prompt_tokens_total",
    "generation": "vllm:generation_tokens_total",
    "requests": "vllm:request_success_total",
}


def pod_queries() -> dict[str, str]:
    """Each engine pod's cumulative counters (the ledger differences them)."""
    by = f"by ({', '.join(POD)})"
    return {name: f"sum {by} ({metric})" for name, metric in ENGINE_COUNTERS.items()}


ROUTE_LABELS = {
    "requests": ("namespace", "route", "model"),
    "tokens": ("namespace", "route", "model"),
    "escalations": ("namespace", "route", "reason"),
}


def counted_since(series: str, window_seconds: int) -> str:
    """What each series counted over the window: its value now minus its value then, or all of
    it for a series younger than the window. The router creates a labelled series at its first
    increment, so ``increase()``, which starts at the first sample, would miss what came before
    it; a router pod that restarted is a new series (its pod label)."""
    return f"(clamp_min({series} - {series} offset {window_seconds}s, 0) or {series})"


def route_queries(window_seconds: int) -> dict[str, str]:
    """The routers' answered requests and tokens by route and upstream model, and escalations by
    route and reason, over the window."""

    def by(name: str) -> str:
        return f"by ({', '.join(ROUTE_LABELS[name])})"

    requests = 'slmfleet_router_requests_total{code=~"2..",route!=""}'
    return {
        "requests": f"sum {by('requests')} {counted_since(requests, window_seconds)}",
        "tokens": (
            f"sum {by('tokens')} {counted_since('slmfleet_router_tokens_total', window_seconds)}"
        ),
        "escalations": (
            f"sum {by('escalations')} "
            f"{counted_since('slmfleet_router_escalations_total', window_seconds)}"
        ),
    }


PodCounters = dict[tuple[str, str], dict[str, Counters]]


def fetch_pod_counters(query: QueryVector) -> PodCounters:
    """Counters by (namespace, model) and pod."""
    vectors = {name: to_vector(query(promql), POD) for name, promql in pod_queries().items()}
    out: PodCounters = {}
    pods = set().union(*(v.keys() for v in vectors.values()))
    for ns, model, pod in pods:
        key = (ns, model, pod)
        out.setdefault((ns, model), {})[pod] = Counters(
            *(vectors[name].get(key, 0.0) for name in ENGINE_COUNTERS)
        )
    return out


def fetch_route_counts(
    query: QueryVector, window_seconds: int
) -> dict[tuple[str, str], RouteCounts]:
    """The router's counts by (namespace, route)."""
    vectors: dict[str, Vector] = {
        name: to_vector(query(promql), ROUTE_LABELS[name])
        for name, promql in route_queries(window_seconds).items()
    }
    grouped: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for name, vector in vectors.items():
        for (ns, route, label), value in vector.items():
            grouped.setdefault((ns, route), {}).setdefault(name, {})[label] = value
    return {key: route_counts(parts) for key, parts in grouped.items()}


def route_counts(parts: Mapping[str, Mapping[str, float]]) -> RouteCounts:
    return RouteCounts(
        requests=dict(parts.get("requests") or {}),
        tokens=dict(parts.get("tokens") or {}),
        escalations=dict(parts.get("escalations") or {}),
    )
