"""The router's caps: response size, concurrent requests, held requests, body read time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import web
from router_fakes import (
    FakeBackend,
    chat,
    config,
    metric,
    metrics_text,
    router,
    triage_router,
    triage_routes,
)

from slmfleet.config import settings
from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.router.caps import BodyTooLargeError, read_body
from slmfleet.router.config import RouterDefaults, parse_config

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

COLD = triage_routes([])


async def _held(client: Any, count: int) -> None:
    """Wait until ``count`` requests are held for endpoints."""
    while metric(await metrics_text(client), "slmfleet_router_held_requests", backend="a") < count:
        await asyncio.sleep(0.01)


async def test_an_oversized_answer_is_a_502_never_buffered_whole() -> None:
    fake = FakeBackend("a")
    async with triage_router(fake, maxResponseBytes=64) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("x" * 200))
        document = await response.json()
        text = await metrics_text(client)
    assert response.status == 502
    assert "answered more than 64 bytes" in document["error"]["message"]
    assert metric(text, "slmfleet_router_errors_total", kind="response_too_large") == 1


async def test_requests_past_the_concurrency_cap_get_429() -> None:
    async with router(config(COLD, maxConcurrentRequests=1)) as (client, _):
        first = asyncio.ensure_future(client.post("/v1/chat/completions", json=chat("hi")))
        await _held(client, 1)
        second = await client.post("/v1/chat/completions", json=chat("hi"))
        assert second.status == 429
        assert not first.done()
        first.cancel()


async def test_requests_past_the_held_cap_get_503_without_waiting() -> None:
    cold = config(COLD, maxHeldRequests=1, holdWhenNoEndpointsSeconds=300)
    async with router(cold) as (client, _):
        first = asyncio.ensure_future(client.post("/v1/chat/completions", json=chat("hi")))
        await _held(client, 1)
        second = await client.post("/v1/chat/completions", json=chat("hi"))
        assert second.status == 503
        assert not first.done()  # the first is still held: the second never waited its turn
        first.cancel()


class _Stalled:
    """A request whose client sends one chunk and then nothing."""

    content_length = None

    class content:  # noqa: N801 - mirrors aiohttp's request.content
        @staticmethod
        async def iter_chunked(_: int) -> AsyncIterator[bytes]:
            yield b"{"
            await asyncio.Event().wait()


async def test_a_body_not_sent_in_time_is_refused() -> None:
    with pytest.raises(TimeoutError):
        await read_body(cast(web.Request, _Stalled()), 1024, 0.05)


async def test_a_body_past_the_size_cap_is_refused() -> None:
    class Big:
        content_length = 10_000

    with pytest.raises(BodyTooLargeError):
        await read_body(cast(web.Request, Big()), 1024, 1.0)


def test_the_operator_renders_its_caps_into_every_router_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLMFLEET_ROUTER_MAX_HELD_REQUESTS", "3")
    monkeypatch.setenv("SLMFLEET_ROUTER_BODY_READ_TIMEOUT_SECONDS", "5")
    caps = settings.__wrapped__().router_defaults
    assert (caps.max_held_requests, caps.body_read_timeout_seconds) == (3, 5.0)
    assert caps.max_concurrent_requests == RouterDefaults().max_concurrent_requests
    plan = plan_namespace([], [ModelTarget("m", "m", "m", "r1")], {}, defaults=caps)
    assert parse_config(plan.config.to_json()).defaults == caps
