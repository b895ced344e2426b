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

from slmfleet.router.cascade import Budgets, run_cascade
from slmfleet.router.config_source import ConfigSource, FileConfigSource
from slmfleet.router.errors import ErrorKind, failure_status, openai_error
from slmfleet.router.forwarder import Forwarder
from slmfleet.router.metrics import METRICS_CONTENT_TYPE, RouterMetrics
from slmfleet.router.payload import CHAT_PATH, COMPLETIONS_PATH, BadRequestError, parse_request
from slmfleet.router.payload import usage_tokens as usage_of
from slmfleet.router.routing import (
    NoBackendError,
    pick_backend,
    plan_attempts,
    select_route,
    served_model_names,
)
from slmfleet.router.upstream import Reply

BACKEND_HEADER = "x-slmfleet-backend"
REVISION_HEADER = "x-slmfleet-revision"
TIER_HEADER = "x-slmfleet-cascade-tier"
ESCALATIONS_HEADER = "x-slmfleet-escalations"
CASCADE_HEADER = "x-slmfleet-cascade"
_READ_CHUNK = 64 * 1024


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
    session: aiohttp.ClientSession | None = None
    forwarder: Forwarder = field(init=False)

    def __post_init__(self) -> None:
        self.forwarder = Forwarder(self._session, self.source, self.metrics, self.clock, self.env)

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


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None once it exceeds `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    buffer = bytearray()
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        buffer.extend(chunk)
        if len(buffer) > limit:
            return None
    return bytes(buffer)


def served_revision(reply: Reply) -> str:
    """The revision that answered (or was picked), else the backend's own."""
    if reply.revision:
        return reply.revision
    return reply.backend.revision if reply.backend is not None else ""


def _backend_headers(reply: Reply) -> dict[str, str]:
    if reply.backend is None:
        return {}
    headers = {BACKEND_HEADER: reply.backend.name}
    revision = served_revision(reply)
    if revision:
        headers[REVISION_HEADER] = revision
    return headers


async def _relay_stream(
    request: web.Request, reply: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    """Pass an upstream SSE stream to the client chunk by chunk, as each chunk arrives."""
    upstream = reply.stream
    if upstream is None:
        raise ValueError("reply has no stream")
    response = web.StreamResponse(
        status=reply.status,
        headers={**headers, "Content-Type": reply.content_type, "Cache-Control": "no-cache"},
    )
    try:
        await response.prepare(request)
        await response.write(reply.body)  # the first chunk, read before the reply was chosen
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
    except (ConnectionError, aiohttp.ClientError, TimeoutError):
        # The client went away or the backend broke mid-stream; the status is already sent.
        upstream.close()
    finally:
        upstream.release()
    return response


async def _completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    started = state.clock()
    config = state.source.current()
    raw = await _read_limited(request, config.defaults.max_body_bytes)
    if raw is None:
        limit = config.defaults.max_body_bytes
        return _reject(state, ErrorKind.BODY_TOO_LARGE, f"request body exceeds {limit} bytes")
    try:
        parsed = parse_request(raw)
    except BadRequestError as exc:
        return _reject(state, ErrorKind.BAD_REQUEST, str(exc))
    route = select_route(config, parsed.model, request.headers)
    if route is None:
        message = f"model {parsed.model!r} is not served by this router"
        return _reject(state, ErrorKind.NO_ROUTE, message, code="model_not_found", param="model")
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
    headers.update(_backend_headers(reply))
    try:
        if reply.stream is not None:
            response = await _relay_stream(request, reply, headers)
        else:
            headers["Content-Type"] = reply.content_type
            response = web.Response(status=reply.status, body=reply.body, headers=headers)
    finally:
        reply.finish()
    model = reply.backend.model if reply.backend else ""
    revision = served_revision(reply)
    if reply.ok and reply.stream is None:
        state.metrics.count_tokens(route.name, model, *_usage(reply.body))
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
    config = request.app[STATE].source.current()
    generation = config.served_generation
    return web.json_response(
        {"status": "ok", "routes": len(config.routes), "generation": generation}
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
