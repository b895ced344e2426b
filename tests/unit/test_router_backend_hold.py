"""A backend's own hold (the operator sizes it from the model's cold start) replaces the default.

The Forwarder runs against a clock that moves only when the test moves it; the test waits for
the hold's poll loop to read the config again after each move, so nothing depends on real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from router_fakes import Clock, FakeBackend, chat, closed_port, serving

from slmfleet.router.config import RouterConfig
from slmfleet.router.config_source import StaticConfigSource
from slmfleet.router.errors import ErrorKind
from slmfleet.router.forwarder import Forwarder
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.upstream import Reply

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


class CountingSource(StaticConfigSource):
    """Counts reads: each poll of a held request reads the current config once."""

    def __init__(self, config: RouterConfig) -> None:
        super().__init__(config)
        self.reads = 0

    def current(self) -> RouterConfig:
        self.reads += 1
        return super().current()

    async def polled(self, task: asyncio.Future[Reply], times: int = 2) -> None:
        """Return once the hold's loop has read the config ``times`` more times, or the request
        was answered."""
        until = self.reads + times
        while self.reads < until and not task.done():
            await asyncio.sleep(0.01)


def config(endpoints: list[str], **backend: Any) -> RouterConfig:
    a = {"name": "a", "model": "m", "revision": "r1", "endpoints": endpoints, **backend}
    return RouterConfig.model_validate({"routes": [{"name": "triage", "backends": [a]}]})


@asynccontextmanager
async def forwarding(
    source: CountingSource, clock: Clock, deadline: float = 300.0
) -> AsyncIterator[asyncio.Future[Reply]]:
    """One request through a Forwarder on ``clock``, running while the context is open."""
    cfg = source.current()
    async with aiohttp.ClientSession() as session:
        forwarder = Forwarder(lambda: session, source, RouterMetrics(), clock, {})
        task = asyncio.ensure_future(
            forwarder.call(
                cfg,
                cfg.routes[0],
                ("a",),
                path="/v1/chat/completions",
                body=chat("hi"),
                stream=False,
                deadline=deadline,
            )
        )
        try:
            yield task
        finally:
            task.cancel()


async def still_held(
    source: CountingSource, clock: Clock, task: asyncio.Future[Reply], now: float
) -> bool:
    """Move the clock to ``now`` once the request polls; whether it is held after that."""
    await source.polled(task)
    clock.now = now
    await source.polled(task)
    return not task.done()


@pytest.mark.parametrize(
    ("backend", "deadline", "moves", "waiting"),
    [
        # No own hold: the default 30 s.
        ({}, 300.0, [29.0, 30.0], [True, False]),
        # A slow model's own hold outlasts the default.
        ({"holdSeconds": 120}, 300.0, [30.0, 119.0, 120.0], [True, True, False]),
        # Shorter than the default when the operator says so (not what it renders, but read).
        ({"holdSeconds": 5}, 300.0, [5.0], [False]),
        # Never past the request deadline.
        ({"holdSeconds": 120}, 50.0, [49.0, 50.0], [True, False]),
    ],
)  # fmt: skip
async def test_a_request_without_endpoints_waits_for_its_backends_hold(
    backend: dict[str, Any], deadline: float, moves: list[float], waiting: list[bool]
) -> None:
    source, clock = CountingSource(config([], **backend)), Clock()
    async with forwarding(source, clock, deadline) as task:
        seen = [await still_held(source, clock, task, now) for now in moves]
        reply = await task
    assert seen == waiting
    assert reply.error_kind is ErrorKind.NO_ENDPOINTS


async def test_lost_endpoints_wait_for_the_backends_hold_then_the_newer_config() -> None:
    """Every endpoint refused (pods gone before the config that drops them): the request waits
    for the backend's hold, not the default, and is served by the config that lists a new pod."""
    live = FakeBackend("a")
    async with serving(live) as (endpoint,):
        source, clock = CountingSource(config([closed_port()], holdSeconds=120)), Clock()
        async with forwarding(source, clock) as task:
            assert await still_held(source, clock, task, 60.0)  # past the default 30 s
            source.replace(config([endpoint], holdSeconds=120))
            reply = await task
    assert reply.status == 200
    assert len(live.requests) == 1
