"""Fakes and helpers of the router's in-process tests: OpenAI backends on loopback, the router app.

The fake backends answer from the prompt text: `status:503` fails and `sleep:0.5` answers late
(unless built with obeys=False), `logprob:-2.0` attaches that logprob to each of three tokens,
anything else is echoed back as "<backend>:<prompt>".
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from slmfleet.router.config import RouterConfig
from slmfleet.router.config_source import StaticConfigSource
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.server import build_app


class FakeBackend:
    """A tiny OpenAI-compatible server that records what it receives."""

    def __init__(
        self, name: str, stream_chunks: int = 5, stream_delay: float = 0.05, obeys: bool = True
    ) -> None:
        self.name = name
        self.obeys = obeys
        self.stream_chunks = stream_chunks
        self.stream_delay = stream_delay
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.chunk_sent_at: list[float] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/v1/completions", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        messages = body.get("messages")
        prompt = messages[-1]["content"] if messages else str(body.get("prompt", ""))
        if prompt.startswith("status:") and self.obeys:
            status = int(prompt.split(":")[1])
            return web.json_response({"error": {"message": "injected"}}, status=status)
        if prompt.startswith("sleep:") and self.obeys:
            await asyncio.sleep(float(prompt.split(":")[1]))
        if body.get("stream"):
            return await self._stream(request)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": f"{self.name}:{prompt}"},
            "finish_reason": "stop",
        }
        if prompt.startswith("logprob:") and body.get("logprobs"):
            value = float(prompt.split(":")[1])
            choice["logprobs"] = {"content": [{"token": "t", "logprob": value}] * 3}
        usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        return web.json_response({"model": body["model"], "choices": [choice], "usage": usage})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(self.stream_chunks):
            chunk = {"choices": [{"index": 0, "delta": {"content": f"tok{index}"}}]}
            self.chunk_sent_at.append(time.monotonic())
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(self.stream_delay)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


class BrokenBackend:
    """A backend that fails every request one way: ``status`` (an HTTP status), ``drop`` (the
    connection closes before any answer) or ``empty-stream`` (200 and SSE headers, then the
    connection closes before the first byte). ``on_request`` runs as each request arrives;
    ``headers`` go with a ``status`` answer."""

    def __init__(
        self,
        how: str,
        status: int = 503,
        on_request: Callable[[], None] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.how = how
        self.status = status
        self.on_request = on_request
        self.headers = headers or {}
        self.requests = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests += 1
        if self.on_request is not None:
            self.on_request()
        if self.how == "status":
            body = {"error": {"message": "broken"}}
            return web.json_response(body, status=self.status, headers=self.headers)
        if self.how == "empty-stream":
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError("dropped on purpose")


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def serving(*backends: FakeBackend | BrokenBackend) -> AsyncIterator[list[str]]:
    """Run fake backends on loopback; yields their "127.0.0.1:port" endpoints."""
    servers = [TestServer(backend.app(), host="127.0.0.1") for backend in backends]
    for server in servers:
        await server.start_server()
    try:
        yield [f"127.0.0.1:{server.port}" for server in servers]
    finally:
        for server in servers:
            await server.close()


@asynccontextmanager
async def router(
    config: RouterConfig, **kwargs: Any
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], StaticConfigSource]]:
    source = StaticConfigSource(config)
    app = build_app(source, metrics=RouterMetrics(), **kwargs)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client, source


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def config(routes: Sequence[dict[str, Any]], **defaults: Any) -> RouterConfig:
    return RouterConfig.model_validate({"defaults": defaults, "routes": list(routes)})


def backend(name: str, endpoints: Sequence[str], weight: int = 100, **extra: Any) -> dict[str, Any]:
    fields = {"name": name, "model": f"{name}-model", "weight": weight, "revision": f"{name}-r1"}
    return {**fields, "endpoints": list(endpoints), **extra}


def triage_routes(endpoints: Sequence[str], **extra: Any) -> list[dict[str, Any]]:
    """The one route most tests use: "triage" to backend "a" over ``endpoints``."""
    return [{"name": "triage", "backends": [backend("a", endpoints)], **extra}]


@asynccontextmanager
async def triage_router(
    *backends: FakeBackend | BrokenBackend, **defaults: Any
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], list[str]]]:
    """Fake backends on loopback behind a router whose one route "triage" sends to all of them
    as backend "a" (``defaults``: the router's); yields the client and the backends' endpoints."""
    async with (
        serving(*backends) as endpoints,
        router(config(triage_routes(endpoints), **defaults)) as (client, _),
    ):
        yield client, endpoints


def chat(content: str, model: str = "triage", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text output (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def metrics_text(client: TestClient[web.Request, web.Application]) -> str:
    response = await client.get("/metrics")
    return await response.text()
