"""Send one client request upstream: attempt chain (retries, fallback), endpoint holds, in-flight.

The order of attempts and the endpoint choice come from the pure functions in routing.py; this
module only performs them with a shared aiohttp ClientSession.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from slmfleet.router.caps import BodyTooLargeError, Gate, read_response
from slmfleet.router.config import Backend, Route, RouterConfig
from slmfleet.router.config_source import ConfigSource
from slmfleet.router.errors import ErrorKind, classify_status, failure_status, openai_error
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.payload import forward_body
from slmfleet.router.routing import find_backend, pick_endpoint, revision_endpoints

HOLD_POLL_SECONDS = 0.05


def _noop() -> None:
    return None


@dataclass
class Reply:
    """What goes back to the client: an upstream answer, an open stream, or a router error."""

    status: int
    body: bytes = b""
    backend: Backend | None = None
    content_type: str = "application/json"
    error_kind: ErrorKind | None = None
    stream: aiohttp.ClientResponse | None = None
    finish: Callable[[], None] = field(default=_noop)
    revision: str = ""

    @property
    def ok(self) -> bool:
        """True for a 2xx upstream answer."""
        return 200 <= self.status < 300


def router_error(kind: ErrorKind, message: str, backend: Backend | None = None) -> Reply:
    """A Reply carrying the router's own OpenAI-shaped error."""
    body = json.dumps(openai_error(message, kind)).encode()
    return Reply(status=failure_status(kind), body=body, backend=backend, error_kind=kind)


def target_url(backend: Backend, endpoint: str | None, path: str) -> str:
    """Full upstream URL: `http://host:port/v1/...` or the external base URL + `/...`."""
    if backend.url is not None:
        return backend.url.rstrip("/") + path.removeprefix("/v1")
    return f"http://{endpoint}{path}"


def upstream_headers(backend: Backend, env: Mapping[str, str]) -> dict[str, str]:
    """Headers for the upstream call; external backends get `Authorization: Bearer <key>`."""
    headers = {"Content-Type": "application/json"}
    if backend.api_key_env is not None and env.get(backend.api_key_env):
        headers["Authorization"] = f"Bearer {env[backend.api_key_env]}"
    return headers


class Forwarder:
    """Performs attempt chains; owns in-flight counts and round-robin counters."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        source: ConfigSource,
        metrics: RouterMetrics,
        clock: Callable[[], float],
        env: Mapping[str, str],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._session = session
        self._rand = rand
        self._source = source
        self._metrics = metrics
        self._clock = clock
        self._env = env
        self._held = Gate()
        self.in_flight: dict[str, int] = {}
        self._counters: dict[tuple[str, str], int] = {}

    def _next_counter(self, route: Route, backend: Backend) -> int:
        key = (route.name, backend.name)
        value = self._counters.get(key, 0)
        self._counters[key] = value + 1
        return value

    async def _hold(
        self, route: Route, backend: Backend, seconds: float, most: int
    ) -> Backend | None:
        """Wait up to `seconds` for the backend to get endpoints in a newer config snapshot;
        None at once when `most` requests are already held."""
        if not self._held.enter(most):
            return None
        try:
            return await self._wait_for_endpoints(route, backend, seconds)
        finally:
            self._held.leave()

    async def _wait_for_endpoints(
        self, route: Route, backend: Backend, seconds: float
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
                if latest is not None and (latest.url is not None or latest.endpoints):
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

    async def call(
        self,
        config: RouterConfig,
        route: Route,
        names: Sequence[str],
        *,
        path: str,
        body: Mapping[str, Any],
        stream: bool,
        deadline: float,
    ) -> Reply:
        """Try the backends `names` in order until one answers; the last failure otherwise."""
        attempt_limit = route.timeout_seconds or config.defaults.request_timeout_seconds
        failed: set[str] = set()
        empty: set[str] = set()
        last: Reply | None = None
        for index, name in enumerate(names):
            remaining = deadline - self._clock()
            if remaining <= 0:
                return router_error(ErrorKind.TIMEOUT, "request deadline passed", None)
            backend = route.backend(name)
            if backend is None or name in empty:
                continue
            if backend.url is None and not backend.endpoints:
                hold = min(config.defaults.hold_when_no_endpoints_seconds, remaining)
                most = config.defaults.max_held_requests
                held = (
                    await self._hold(route, backend, hold, most)
                    if index == 0 and hold > 0
                    else None
                )
                if held is None:
                    empty.add(name)
                    self._metrics.count_error(ErrorKind.NO_ENDPOINTS)
                    message = f"backend {name!r} of model {route.name!r} has no ready endpoints"
                    last = router_error(ErrorKind.NO_ENDPOINTS, message, backend)
                    continue
                backend = held
            endpoint = None
            revision = backend.revision
            if backend.url is None:
                revision, endpoints = revision_endpoints(backend, self._rand(), failed)
                counter = self._next_counter(route, backend)
                policy = config.defaults.endpoint_policy
                endpoint = pick_endpoint(endpoints, self.in_flight, policy, counter, failed)
            left = deadline - self._clock()
            limit = backend.timeout_seconds or attempt_limit
            timeout = aiohttp.ClientTimeout(total=min(limit, left))
            if stream:
                # A stream may run to the request deadline; each read waits at most one attempt.
                timeout = aiohttp.ClientTimeout(total=left, sock_connect=limit, sock_read=limit)
            reply = await self._attempt(
                route, backend, endpoint, path=path, body=body, stream=stream, timeout=timeout
            )
            reply.revision = revision
            if reply.error_kind is None or reply.error_kind is ErrorKind.CLIENT:
                return reply
            failed.add(endpoint or "")
            last = reply
        if last is None:
            return router_error(ErrorKind.NO_ENDPOINTS, f"model {route.name!r} has no backends")
        return last

    async def _attempt(
        self,
        route: Route,
        backend: Backend,
        endpoint: str | None,
        *,
        path: str,
        body: Mapping[str, Any],
        stream: bool,
        timeout: aiohttp.ClientTimeout,
    ) -> Reply:
        key = endpoint or str(backend.url)
        gauge = self._metrics.in_flight.labels(route=route.name, backend=backend.name)
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        gauge.inc()
        released = False

        def finish() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight[key] -= 1
                if self.in_flight[key] <= 0:
                    del self.in_flight[key]
                gauge.dec()

        payload = json.dumps(forward_body(body, backend.model)).encode()
        try:
            response = await self._session().post(
                target_url(backend, endpoint, path),
                data=payload,
                headers=upstream_headers(backend, self._env),
                timeout=timeout,
            )
            if stream and response.status == 200:
                content_type = response.headers.get("Content-Type", "text/event-stream")
                return Reply(200, b"", backend, content_type, None, response, finish)
            limit = self._source.current().defaults.max_response_bytes
            try:
                raw = await read_response(response, limit)
            except BodyTooLargeError:
                finish()
                self._metrics.count_error(ErrorKind.RESPONSE_TOO_LARGE)
                message = f"backend {backend.name!r} answered more than {limit} bytes"
                return router_error(ErrorKind.RESPONSE_TOO_LARGE, message, backend)
            finally:
                response.release()
        except TimeoutError:
            finish()
            self._metrics.count_error(ErrorKind.TIMEOUT)
            return router_error(ErrorKind.TIMEOUT, f"backend {backend.name!r} timed out", backend)
        except aiohttp.ClientError as exc:
            finish()
            self._metrics.count_error(ErrorKind.CONNECT)
            message = f"backend {backend.name!r} unreachable: {type(exc).__name__}"
            return router_error(ErrorKind.CONNECT, message, backend)
        except BaseException:
            finish()  # cancelled: the request is gone, so is its in-flight slot
            raise
        finish()
        kind = classify_status(response.status)
        if kind is not None:
            self._metrics.count_error(kind)
        content_type = response.headers.get("Content-Type", "application/json")
        return Reply(response.status, raw, backend, content_type, kind)
