"""Prometheus metrics of the router, on a registry of its own."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from slmfleet.router.errors import ErrorKind

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_HOLD_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class RouterMetrics:
    """Every metric the router exports; pass a registry to keep tests isolated."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self._generation: str | None = None
        self.requests = Counter(
            "slmfleet_router_requests",
            "Requests answered, by route, backend model, revision and HTTP status.",
            ["route", "model", "revision", "code"],
            registry=reg,
        )
        self.errors = Counter(
            "slmfleet_router_errors",
            "Failures by kind: upstream attempts and rejected requests.",
            ["kind"],
            registry=reg,
        )
        self.latency = Histogram(
            "slmfleet_router_request_duration_seconds",
            "Time from request received to response finished (streams: to last chunk).",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.escalations = Counter(
            "slmfleet_router_escalations",
            "Cascade escalations to a higher tier, by reason.",
            ["route", "reason"],
            registry=reg,
        )
        self.escalations_denied = Counter(
            "slmfleet_router_escalations_denied",
            "Escalations the budget refused (the lower tier's answer was returned).",
            ["route", "reason"],
            registry=reg,
        )
        self.tokens = Counter(
            "slmfleet_router_tokens",
            "Tokens reported in response usage (non-streaming responses).",
            ["route", "model", "kind"],
            registry=reg,
        )
        self.in_flight = Gauge(
            "slmfleet_router_in_flight_requests",
            "Requests being served by a backend right now.",
            ["route", "backend"],
            registry=reg,
        )
        self.held = Gauge(
            "slmfleet_router_held_requests",
            "Requests waiting for a backend with no ready endpoints (demand that wakes a model "
            "scaled to zero); model is the name sent upstream.",
            ["route", "backend", "model"],
            registry=reg,
        )
        self.cold_start_hold = Histogram(
            "slmfleet_router_cold_start_hold_seconds",
            "Time requests waited for a backend with no ready endpoints to get one.",
            ["route", "backend"],
            buckets=_HOLD_BUCKETS,
            registry=reg,
        )
        self.retries = Counter(
            "slmfleet_router_retries",
            "Attempts moved to another endpoint after a failure that reached the client with "
            "nothing (reason: connect for refused, reset or closed before the first byte; "
            "502; 503). Not counted as errors; a request that fails anyway counts one error.",
            ["route", "backend", "reason"],
            registry=reg,
        )
        self.config_generation = Gauge(
            "slmfleet_router_config_generation",
            "The generation of the config this router serves: 1 on the series of that "
            "generation (the same value as in /health and the config's own generation).",
            ["generation"],
            registry=reg,
        )
        self.config_reloads = Counter(
            "slmfleet_router_config_reloads",
            "Config reloads by result (ok, invalid).",
            ["result"],
            registry=reg,
        )

        self.shadow = Counter(
            "slmfleet_router_shadow_requests",
            "Requests mirrored to a route's shadow backend, by result: agree (same answer text "
            "as the one served), differ, error (no answer), dropped (too many mirrors in flight); "
            "revision: the canary of a rollout's shadow step, empty for a route's shadow.",
            ["route", "backend", "revision", "result"],
            registry=reg,
        )
        self.shadow_latency = Histogram(
            "slmfleet_router_shadow_duration_seconds",
            "Time the shadow backend took to answer a mirrored request.",
            ["route", "backend", "revision"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )

    def count_error(self, kind: ErrorKind) -> None:
        """Count one failure of `kind`."""
        self.errors.labels(kind=kind.value).inc()

    def count_retry(self, route: str, backend: str, reason: str) -> None:
        """Count one attempt retried on another endpoint."""
        self.retries.labels(route=route, backend=backend, reason=reason).inc()

    def serve_generation(self, generation: str) -> None:
        """Make ``generation`` the only series of the config generation gauge."""
        if self._generation != generation:
            self.config_generation.clear()
            self.config_generation.labels(generation=generation).set(1)
            self._generation = generation

    def count_request(self, route: str, model: str, revision: str, code: int) -> None:
        """Count one answered request."""
        self.requests.labels(route=route, model=model, revision=revision, code=str(code)).inc()

    def count_tokens(self, route: str, model: str, prompt: int, completion: int) -> None:
        """Add the usage of one response."""
        if prompt:
            self.tokens.labels(route=route, model=model, kind="prompt").inc(prompt)
        if completion:
            self.tokens.labels(route=route, model=model, kind="completion").inc(completion)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
