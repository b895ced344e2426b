"""A lost backend is not a client error: failures safe to retry move to another endpoint.

Safe: connection refused or reset, 502 or 503, a stream closed before its first byte; the request
goes to another endpoint of the same revision, then of the split's other revisions, within the
request deadline, and is counted as a retry, not an error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from router_fakes import (
    BrokenBackend,
    Clock,
    FakeBackend,
    chat,
    closed_port,
    config,
    metric,
    metrics_text,
    router,
    serving,
    triage_router,
    triage_routes,
)

from slmfleet.router.config import Backend, EndpointPolicy, RevisionSplit, RouterConfig
from slmfleet.router.config_source import StaticConfigSource
from slmfleet.router.forwarder import Forwarder
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.routing import retry_endpoints

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


async def test_a_refused_endpoint_is_retried_on_another_and_is_no_error() -> None:
    live = FakeBackend("a")
    async with serving(live) as (endpoint,):
        routes = triage_routes([closed_port(), endpoint])
        async with router(config(routes)) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            assert response.status == 200
            text = await metrics_text(client)
    assert len(live.requests) == 1
    assert metric(text, "slmfleet_router_retries_total", backend="a", reason="connect") == 1
    assert metric(text, "slmfleet_router_errors_total") == 0
    assert metric(text, "slmfleet_router_requests_total", code="200") == 1


@pytest.mark.parametrize(("how", "status"), [("drop", 0), ("status", 502), ("status", 503)])
async def test_resets_502_and_503_are_retried(how: str, status: int) -> None:
    broken, live = BrokenBackend(how, status), FakeBackend("a")
    async with triage_router(broken, live) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        assert response.status == 200
        text = await metrics_text(client)
    assert (broken.requests, len(live.requests)) == (1, 1)
    reason = "connect" if how == "drop" else str(status)
    assert metric(text, "slmfleet_router_retries_total", reason=reason) == 1
    assert metric(text, "slmfleet_router_errors_total") == 0


async def test_a_500_is_not_retried_on_another_endpoint() -> None:
    broken, live = BrokenBackend("status", 500), FakeBackend("a")
    async with triage_router(broken, live) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        assert response.status == 500
        text = await metrics_text(client)
    assert live.requests == []
    assert metric(text, "slmfleet_router_retries_total") == 0
    assert metric(text, "slmfleet_router_errors_total", kind="5xx") == 1


async def test_an_engine_429_goes_back_as_is_and_is_not_retried() -> None:
    # A 429 is a live backend's answer (a rate limit; vLLM queues rather than refuse): the client
    # gets it with the backend's body and Retry-After, counted as a 4xx, never moved elsewhere.
    broken = BrokenBackend("status", 429, headers={"Retry-After": "2"})
    live = FakeBackend("a")
    async with triage_router(broken, live) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"
        assert await response.json() == {"error": {"message": "broken"}}
        text = await metrics_text(client)
    assert (broken.requests, live.requests) == (1, [])
    assert metric(text, "slmfleet_router_retries_total") == 0
    assert metric(text, "slmfleet_router_errors_total", kind="4xx") == 1
    assert metric(text, "slmfleet_router_requests_total", code="429") == 1


async def test_when_every_endpoint_is_lost_the_client_gets_one_error() -> None:
    routes = triage_routes([closed_port(), closed_port()])
    async with router(config(routes, holdWhenNoEndpointsSeconds=0)) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        assert response.status == 502
        text = await metrics_text(client)
    assert metric(text, "slmfleet_router_retries_total", reason="connect") == 1
    assert metric(text, "slmfleet_router_errors_total", kind="connect") == 1


@pytest.mark.parametrize("how", ["drop", "empty-stream"])
async def test_a_stream_is_retried_until_its_first_byte(how: str) -> None:
    broken, live = BrokenBackend(how), FakeBackend("a", stream_chunks=3, stream_delay=0)
    async with triage_router(broken, live) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi", stream=True))
        assert response.status == 200
        text = await response.text()
        metrics = await metrics_text(client)
    assert broken.requests == 1
    assert [f"tok{i}" in text for i in range(3)] == [True] * 3
    assert text.rstrip().endswith("data: [DONE]")
    assert metric(metrics, "slmfleet_router_retries_total", reason="connect") == 1
    assert metric(metrics, "slmfleet_router_errors_total") == 0


def split_backend(
    old: tuple[str, ...], new: tuple[str, ...], old_weight: int = 90, new_weight: int = 10
) -> Backend:
    return Backend(
        name="a",
        model="a-model",
        revision="old",
        endpoints=old + new,
        revisions=(
            RevisionSplit(revision="old", weight=old_weight, endpoints=old),
            RevisionSplit(revision="new", weight=new_weight, endpoints=new),
        ),
    )


def test_retries_keep_to_the_revision_then_try_the_others() -> None:
    split = split_backend(("o1:1", "o2:1"), ("n1:1",))
    assert retry_endpoints(split, "old", {"o1:1"}) == ("old", ("o2:1",))
    assert retry_endpoints(split, "old", {"o1:1", "o2:1"}) == ("new", ("n1:1",))
    assert retry_endpoints(split, "new", {"n1:1"}) == ("old", ("o1:1", "o2:1"))
    assert retry_endpoints(split, "new", {"n1:1", "o1:1", "o2:1"}) is None


def test_a_revision_without_weight_is_the_last_resort() -> None:
    split = split_backend(("o1:1",), ("n1:1",), old_weight=0, new_weight=100)
    assert retry_endpoints(split, "new", {"n1:1"}) == ("old", ("o1:1",))
    plain = Backend(name="a", model="m", revision="r", endpoints=("e1:1", "e2:1"))
    assert retry_endpoints(plain, "r", {"e1:1"}) == ("r", ("e2:1",))
    assert retry_endpoints(plain, "r", {"e1:1", "e2:1"}) is None


async def forward(
    backend: Backend, clock: Clock, deadline: float = 100.0
) -> tuple[Any, RouterMetrics]:
    """One request through a Forwarder whose revision draw always lands on the first split."""
    routes = ({"name": "triage", "backends": [backend.model_dump(by_alias=True)]},)
    cfg = RouterConfig.model_validate({"routes": routes})
    route = cfg.routes[0]
    metrics = RouterMetrics()
    async with aiohttp.ClientSession() as session:
        forwarder = Forwarder(
            lambda: session, StaticConfigSource(cfg), metrics, clock, {}, rand=lambda: 0.0
        )
        assert cfg.defaults.endpoint_policy is EndpointPolicy.LEAST_IN_FLIGHT
        reply = await forwarder.call(
            cfg, route, ("a",), path="/v1/chat/completions", body=chat("hi"), stream=False,
            deadline=deadline,
        )  # fmt: skip
        reply.finish()
    return reply, metrics


async def test_a_lost_revision_sends_the_request_to_the_other_revision() -> None:
    live = FakeBackend("new")
    async with serving(live) as (endpoint,):
        reply, _ = await forward(split_backend((closed_port(),), (endpoint,)), Clock())
    assert (reply.status, reply.revision) == (200, "new")
    assert len(live.requests) == 1


async def test_no_retry_once_the_deadline_has_passed() -> None:
    clock = Clock()

    def late() -> None:
        clock.now = 101.0  # the failing attempt ends after the request's deadline

    broken, live = BrokenBackend("status", 503, on_request=late), FakeBackend("a")
    async with serving(broken, live) as (lost, spare):
        reply, metrics = await forward(split_backend((lost, spare), ()), clock)
    assert reply.status == 503
    assert live.requests == []
    assert metric(metrics.render().decode(), "slmfleet_router_retries_total") == 0


async def test_when_every_endpoint_is_lost_the_request_waits_for_a_newer_config() -> None:
    """Pods that went away before the config without them arrived (a scale to zero under load):
    the request is held like one for a backend without endpoints, then served by the next."""
    lost = triage_routes([closed_port()])
    live = FakeBackend("a")
    async with serving(live) as (endpoint,), router(config(lost)) as (client, source):
        sent = asyncio.ensure_future(client.post("/v1/chat/completions", json=chat("hi")))
        while not live.requests and not sent.done():
            await asyncio.sleep(0.01)
            if metric(await metrics_text(client), "slmfleet_router_held_requests") == 1:
                source.replace(config(triage_routes([endpoint])))
        response = await sent
        assert response.status == 200
        text = await metrics_text(client)
    assert len(live.requests) == 1
    assert metric(text, "slmfleet_router_retries_total", reason="connect") == 1
    assert metric(text, "slmfleet_router_errors_total") == 0
