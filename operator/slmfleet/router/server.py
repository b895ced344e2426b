"""The router's HTTP server: OpenAI-compatible endpoints in front of the vLLM backends."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from slmfleet.router.auth import authorized
from slmfleet.router.caps import BodyTooLargeError, Gate, read_body
from slmfleet.router.cascade import Budgets, run_cascade
from slmfleet.router.config import RouterDefaults
from slmfleet.router.config_source import ConfigSource, FileConfigSource
from slmfleet.router.errors import ErrorKind, failure_status, openai_error
from slmfleet.router.forwarder import Forwarder
from slmfleet.router.metrics import METRICS_CONTENT_TYPE, RouterMetrics
from slmfleet.router.payload import CHAT_PATH, COMPLETIONS_PATH, BadRequestError, parse_request
from slmfleet.router.payload import usage_tokens as usage_of
from slmfleet.router.relay import (
    CASCADE_HEADER,
    ESCALATIONS_HEADER,
    TIER_HEADER,
    backend_headers,
    relay_stream,
    served_revision,
)
from slmfleet.router.routing import (
    NoBackendError,
    pick_backend,
    plan_attempts,
    select_route,
    served_model_names,
)
from slmfleet.router.shadow import Shadower, mirror_targets


@dataclass
class RouterState:
    """Everything the handlers share; one per application."""

    source: ConfigSource
    metrics: RouterMetrics
    rng: random.Random
    clock: Callable[[], float]
    env: Mapping[str, str]
    connector_limit: int
    budgets: Budgets = field(default_factory=Budgets)
    active: Gate = field(default_factory=Gate)
    session: aiohttp.ClientSession | None = None
    forwarder: Forwarder = field(init=False)
    shadower: Shadower = field(init=False)

    def __post_init__(self) -> None:
        self.forwarder = Forwarder(self._session, self.source, self.metrics, self.clock, self.env)
        self.shadower = Shadower(self.forwarder.mirror, self.metrics, self.clock)

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            raise RuntimeError("router client session is not started")
        return self.session


STATE = web.AppKey("slmfleet_router_state", RouterState)


def _reject(state: RouterState, kind: ErrorKind, message: str, **extra: str) -> web.Response:
    state.metrics.count_error(kind)
    status = failure_status(kind)
    state.metrics.count_request("", "", "", status)
    return web.json_response(openai_error(message, kind, **extra), status=status)


async def _completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    limit = state.source.current().defaults.max_concurrent_requests
    if not state.active.enter(limit):
        return _reject(state, ErrorKind.OVERLOADED, f"more than {limit} requests in flight")
    try:
        return await _serve(request, state)
    finally:
        state.active.leave()


async def _read(
    request: web.Request, state: RouterState, defaults: RouterDefaults
) -> bytes | web.Response:
    """The request body, or the rejection when it is too large or too slow."""
    try:
        return await read_body(request, defaults.max_body_bytes, defaults.body_read_timeout_seconds)
    except BodyTooLargeError:
        message = f"request body exceeds {defaults.max_body_bytes} bytes"
        return _reject(state, ErrorKind.BODY_TOO_LARGE, message)
    except TimeoutError:
        message = f"request body not read within {defaults.body_read_timeout_seconds:g}s"
        return _reject(state, ErrorKind.BODY_TIMEOUT, message)


async def _serve(request: web.Request, state: RouterState) -> web.StreamResponse:
    started = state.clock()
    config = state.source.current()
    defaults = config.defaults
    raw = await _read(request, state, defaults)
    if isinstance(raw, web.Response):
        return raw
    try:
        parsed = parse_request(raw)
    except BadRequestError as exc:
        return _reject(state, ErrorKind.BAD_REQUEST, str(exc))
    route = select_route(config, parsed.model, request.headers)
    if route is None:
        message = f"model {parsed.model!r} is not served by this router"
        return _reject(state, ErrorKind.NO_ROUTE, message, code="model_not_found", param="model")
    if not authorized(route, request.headers, state.env):
        return _reject(state, ErrorKind.UNAUTHORIZED, f"route {route.name!r} needs an API key")
    deadline = started + config.defaults.request_timeout_seconds
    headers: dict[str, str] = {}
    if route.cascade is not None and not parsed.stream:
        budget = state.budgets.for_route(route.name, route.cascade)
        outcome = await run_cascade(
            state.forwarder,
            budget,
            config=config,
            route=route,
            path=request.path,
            body=parsed.body,
            deadline=deadline,
            clock=state.clock,
            metrics=state.metrics,
        )
        reply = outcome.reply
        headers[TIER_HEADER] = str(outcome.tier)
        if outcome.reasons:
            headers[ESCALATIONS_HEADER] = ",".join(reason.value for reason in outcome.reasons)
    else:
        if route.cascade is not None:
            primary = route.cascade.tiers[0]
            headers[CASCADE_HEADER] = "skipped-streaming"
        else:
            try:
                primary = pick_backend(route, state.rng.random()).name
            except NoBackendError as exc:
                return _reject(state, ErrorKind.NO_ENDPOINTS, str(exc))
        names = plan_attempts(route, primary)
        reply = await state.forwarder.call(
            config,
            route,
            names,
            path=request.path,
            body=parsed.body,
            stream=parsed.stream,
            deadline=deadline,
        )
    headers.update(backend_headers(reply))
    try:
        if reply.stream is not None:
            response = await relay_stream(request, reply, headers, defaults.max_response_bytes)
        else:
            headers["Content-Type"] = reply.content_type
            response = web.Response(status=reply.status, body=reply.body, headers=headers)
    finally:
        reply.finish()
    model = reply.backend.model if reply.backend else ""
    revision = served_revision(reply)
    if reply.ok and reply.stream is None:
        state.metrics.count_tokens(route.name, model, *_usage(reply.body))
        for backend, rev, percent in mirror_targets(route, reply.backend):
            if state.rng.random() * 100 < percent:
                target = (backend, rev)
                state.shadower.start(config, route, target, request.path, parsed.body, reply.body)
    state.metrics.count_request(route.name, model, revision, reply.status)
    state.metrics.latency.labels(route=route.name).observe(state.clock() - started)
    return response


def _usage(body: bytes) -> tuple[int, int]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 0, 0
    return usage_of(document) if isinstance(document, dict) else (0, 0)


async def _models(request: web.Request) -> web.Response:
    config = request.app[STATE].source.current()
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": "slmfleet"}
        for name in served_model_names(config)
    ]
    return web.json_response({"object": "list", "data": data})


async def _health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    config = state.source.current()
    return web.json_response(
        {
            "status": "ok",
            "routes": len(config.routes),
            "generation": config.served_generation,
            # requests sent to each endpoint and not yet finished: the operator waits for the
            # endpoints of a leaving revision to reach 0 before scaling it down
            "inFlight": dict(state.forwarder.in_flight),
        }
    )


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.metrics.serve_generation(state.source.current().served_generation)
    body = state.metrics.render()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    connector = aiohttp.TCPConnector(limit=state.connector_limit, limit_per_host=0)
    state.session = aiohttp.ClientSession(connector=connector, trust_env=False)
    await state.source.start()
    try:
        yield
    finally:
        for task in list(state.shadower.tasks):
            task.cancel()
        await state.source.stop()
        await state.session.close()
        state.session = None


def build_app(
    config_source: ConfigSource | str | Path,
    *,
    metrics: RouterMetrics | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    env: Mapping[str, str] | None = None,
    poll_interval: float = 1.0,
    connector_limit: int = 1024,
) -> web.Application:
    """The router application: a config source (or a config file path) and its collaborators.

    `rng` draws the weighted backend split, `clock` measures deadlines and budgets, `env` holds
    the API keys named by `apiKeyEnv`; all are injectable for tests.
    """
    metrics = metrics if metrics is not None else RouterMetrics()
    source: ConfigSource
    if isinstance(config_source, str | Path):
        source = FileConfigSource(config_source, poll_interval=poll_interval)
    else:
        source = config_source
    if isinstance(source, FileConfigSource):
        reloads = metrics.config_reloads
        source.add_listener(lambda ok: reloads.labels(result="ok" if ok else "invalid").inc())
    state = RouterState(
        source=source,
        metrics=metrics,
        rng=rng if rng is not None else random.Random(),
        clock=clock,
        env=env if env is not None else os.environ,
        connector_limit=connector_limit,
    )
    app = web.Application()
    app[STATE] = state
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_post(CHAT_PATH, _completions)
    app.router.add_post(COMPLETIONS_PATH, _completions)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    return app
