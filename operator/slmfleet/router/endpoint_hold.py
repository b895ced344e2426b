"""Hold a request until its backend has endpoints: a cold start, or every endpoint gone.

A request whose backend lists no ready endpoint waits, for the backend's ``holdSeconds`` (the
operator sizes it from the model's measured cold start) or else the defaults'
``holdWhenNoEndpointsSeconds``, up to its deadline and with at most
``max_held_requests`` waiting at once, for a newer config snapshot that lists one; the config
source is polled every ``HOLD_POLL_SECONDS``. The wait shows in the held gauge and the
cold-start histogram.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from slmfleet.router.caps import Gate
from slmfleet.router.config import Backend, Route
from slmfleet.router.config_source import ConfigSource
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.routing import find_backend

HOLD_POLL_SECONDS = 0.05


class EndpointHold:
    """Holds requests until a newer config lists endpoints for their backend."""

    def __init__(
        self, source: ConfigSource, metrics: RouterMetrics, clock: Callable[[], float]
    ) -> None:
        self._source = source
        self._metrics = metrics
        self._clock = clock
        self._held = Gate()

    async def hold(
        self,
        route: Route,
        backend: Backend,
        seconds: float,
        most: int,
        exclude: Collection[str] = (),
    ) -> Backend | None:
        """Wait up to `seconds` for the backend to get endpoints (other than `exclude`) in a
        newer config snapshot; None at once when `most` requests are already held."""
        if not self._held.enter(most):
            return None
        try:
            return await self._wait_for_endpoints(route, backend, seconds, exclude)
        finally:
            self._held.leave()

    async def _wait_for_endpoints(
        self, route: Route, backend: Backend, seconds: float, exclude: Collection[str]
    ) -> Backend | None:
        started = self._clock()
        found: Backend | None = None
        waiting = self._metrics.held.labels(
            route=route.name, backend=backend.name, model=backend.model
        )
        waiting.inc()
        try:
            while True:
                latest = find_backend(self._source.current(), route.name, backend.name)
                left = latest is not None and any(e not in exclude for e in latest.endpoints)
                if latest is not None and (latest.url is not None or left):
                    found = latest
                    break
                if self._clock() - started >= seconds:
                    break
                await asyncio.sleep(HOLD_POLL_SECONDS)
        finally:
            waiting.dec()
        hold = self._metrics.cold_start_hold.labels(route=route.name, backend=backend.name)
        hold.observe(self._clock() - started)
        return found

    async def newer_endpoints(
        self, route: Route, backend: Backend, failed: set[str], deadline: float
    ) -> Backend | None:
        """Every endpoint this request's config listed is gone (refused or reset: pods going away
        faster than the config that drops them, a scale to zero): hold the request, as for a
        backend without endpoints, until a newer config lists another endpoint; None if none
        comes in time. Endpoints that answer 502 or 503 are alive: no hold for them."""
        config = self._source.current()
        seconds = min(config.hold_seconds(backend), deadline - self._clock())
        if seconds <= 0:
            return None
        return await self.hold(route, backend, seconds, config.defaults.max_held_requests, failed)
