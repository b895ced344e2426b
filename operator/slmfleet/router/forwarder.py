"""Send one client request upstream: attempt chain (retries, fallback), endpoint holds, in-flight.

The order of attempts and the endpoint choice come from the pure functions in routing.py; this
module only performs them with a shared aiohttp ClientSession (holds: see endpoint_hold.py). A failure that reached the client
with nothing (connection refused or reset, 502 or 503, a stream closed before its first byte) is
retried at once on another endpoint (see ``routing.retry_endpoints``), within the deadline, and
counted as a retry; only what is left after that counts as an error.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from slmfleet.router.caps import BodyTooLargeError, read_response
from slmfleet.router.config import Backend, EndpointPolicy, Route, RouterConfig
from slmfleet.router.config_source import ConfigSource
from slmfleet.router.endpoint_hold import EndpointHold
from slmfleet.router.errors import ErrorKind, classify_status
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.payload import forward_body
from slmfleet.router.routing import (
    pick_endpoint,
    retry_endpoints,
    revision_endpoints,
)
from slmfleet.router.upstream import (
    SAFE_RETRY_STATUSES,
    Reply,
    lost_backend,
    router_error,
    target_url,
    upstream_headers,
)


async def _first_chunk(
    response: aiohttp.ClientResponse, backend: Backend, finish: Callable[[], None]
) -> Reply:
    """A stream's reply once its first byte came (until then another endpoint may take it)."""
    try:
        first = await response.content.readany()
    except BaseException:
        response.close()
        raise
    if first:
        content_type = response.headers.get("Content-Type", "text/event-stream")
        return Reply(200, first, backend, content_type, None, response, finish)
    response.release()
    finish()
    message = f"backend {backend.name!r} closed the stream before its first byte"
    return lost_backend(backend, "connect", message)


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
        self._hold = EndpointHold(source, metrics, clock)
        self.in_flight: dict[str, int] = {}
        self._counters: dict[tuple[str, str], int] = {}

    def _next_counter(self, route: Route, backend: Backend) -> int:
        key = (route.name, backend.name)
        value = self._counters.get(key, 0)
        self._counters[key] = value + 1
        return value

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
                hold = min(config.hold_seconds(backend), remaining)
                most = config.defaults.max_held_requests
                held = (
                    await self._hold.hold(route, backend, hold, most)
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
            limit = backend.timeout_seconds or attempt_limit
            policy = config.defaults.endpoint_policy
            last_choice = index == len(names) - 1  # a lost backend holds only with no fallback
            reply = await self._on_backend(
                route, backend, failed, policy, limit, deadline,
                path=path, body=body, stream=stream, hold=last_choice,
            )  # fmt: skip
            if reply.error_kind is not None:
                self._metrics.count_error(reply.error_kind)
            if reply.error_kind is None or reply.error_kind is ErrorKind.CLIENT:
                return reply
            last = reply
        if last is None:
            return router_error(ErrorKind.NO_ENDPOINTS, f"model {route.name!r} has no backends")
        return last

    async def mirror(
        self,
        config: RouterConfig,
        route: Route,
        name: str,
        revision: str,
        path: str,
        body: Mapping[str, Any],
        deadline: float,
    ) -> bytes | None:
        """A shadow copy of a served request on backend ``name`` (only its ``revision``'s
        endpoints when given): its answer body, or None when it failed (not counted as a router
        error; nobody waits for it); LookupError when it has no endpoint (not ready yet)."""
        backend = route.backend(name)
        if backend is not None and revision:
            split = next((s for s in backend.revisions if s.revision == revision), None)
            endpoints = split.endpoints if split else ()
            update = {"endpoints": endpoints, "revisions": (), "revision": revision}
            backend = backend.model_copy(update=update)
        if backend is None or (backend.url is None and not backend.endpoints):
            raise LookupError(f"no endpoint of {name!r} {revision!r} to mirror to")
        limit = backend.timeout_seconds or route.timeout_seconds
        limit = limit or config.defaults.request_timeout_seconds
        policy = config.defaults.endpoint_policy
        # A mirror is never held: it must not take a held slot a client's request may need.
        reply = await self._on_backend(
            route, backend, set(), policy, limit, deadline,
            path=path, body=body, stream=False, hold=False,
        )  # fmt: skip
        return reply.body if reply.ok else None

    async def _on_backend(
        self,
        route: Route,
        backend: Backend,
        failed: set[str],
        policy: EndpointPolicy,
        limit: float,
        deadline: float,
        *,
        path: str,
        body: Mapping[str, Any],
        stream: bool,
        hold: bool = True,
    ) -> Reply:
        """One attempt on ``backend``, moved to another endpoint while failures are safe to retry.
        With ``hold``, a request whose every endpoint is lost waits for a newer config; without it
        (a fallback backend comes next), the failure goes back to the chain at once.

        Endpoints that failed join ``failed``; the weighted revision draw comes first, then
        ``retry_endpoints`` keeps to the same revision before it tries the others.
        """
        endpoints: tuple[str, ...] = ()
        revision = backend.revision
        if backend.url is None:
            revision, endpoints = revision_endpoints(backend, self._rand(), failed)
        while True:
            endpoint = None
            if backend.url is None:
                counter = self._next_counter(route, backend)
                endpoint = pick_endpoint(endpoints, self.in_flight, policy, counter, failed)
            left = deadline - self._clock()
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
            reason = reply.retry_reason
            after = retry_endpoints(backend, revision, failed) if backend.url is None else None
            if hold and reason == "connect" and after is None and backend.url is None:
                newer = await self._hold.newer_endpoints(route, backend, failed, deadline)
                if newer is not None:
                    backend = newer
                    after = revision_endpoints(backend, self._rand(), failed)
            if reason is None or after is None or deadline - self._clock() <= 0:
                return reply
            self._metrics.count_retry(route.name, backend.name, reason)
            revision, endpoints = after

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
                return await _first_chunk(response, backend, finish)
            limit = self._source.current().defaults.max_response_bytes
            try:
                raw = await read_response(response, limit)
            except BodyTooLargeError:
                finish()
                message = f"backend {backend.name!r} answered more than {limit} bytes"
                return router_error(ErrorKind.RESPONSE_TOO_LARGE, message, backend)
            finally:
                response.release()
        except TimeoutError:
            finish()
            return router_error(ErrorKind.TIMEOUT, f"backend {backend.name!r} timed out", backend)
        except aiohttp.ClientError as exc:
            finish()  # nothing reached the client yet: another endpoint may take the request
            message = f"backend {backend.name!r} unreachable: {type(exc).__name__}"
            return lost_backend(backend, "connect", message)
        except BaseException:
            finish()  # cancelled: the request is gone, so is its in-flight slot
            raise
        finish()
        kind = classify_status(response.status)
        content_type = response.headers.get("Content-Type", "application/json")
        reply = Reply(response.status, raw, backend, content_type, kind)
        reply.retry_after = response.headers.get("Retry-After", "")
        if response.status in SAFE_RETRY_STATUSES:
            reply.retry_reason = str(response.status)
        return reply
