"""Shadow traffic: mirrored copies go to the shadow backend after the client has its answer, are
judged against the served answer, and can neither change, delay nor fail what is served."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError
from router_fakes import (
    FakeBackend,
    backend,
    chat,
    closed_port,
    config,
    metric,
    metrics_text,
    router,
    serving,
)

from slmfleet.router.config import Backend, Route
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.server import STATE
from slmfleet.router.shadow import Shadower, mirror_targets, verdict

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def shadowed(primary: str, shadow: str, percent: float = 100) -> list[dict[str, Any]]:
    return [
        {
            "name": "triage",
            "backends": [backend("a", [primary]), backend("b", [shadow], weight=0)],
            "shadow": {"backend": "b", "percent": percent},
        }
    ]


async def test_mirrors_every_sampled_request_and_serves_only_the_primary() -> None:
    primary, twin = FakeBackend("echo"), FakeBackend("echo")  # same answers: they agree
    async with serving(primary, twin) as (a, b), router(config(shadowed(a, b))) as (client, _):
        for i in range(20):
            response = await client.post("/v1/chat/completions", json=chat(f"q{i}"))
            assert response.status == 200 and response.headers["x-slmfleet-backend"] == "a"
            assert (await response.json())["choices"][0]["message"]["content"] == f"echo:q{i}"
        await asyncio.gather(*client.app[STATE].shadower.tasks)
        text = await metrics_text(client)
    assert len(twin.requests) == 20 and twin.requests[0][1]["model"] == "b-model"
    assert metric(text, "slmfleet_router_shadow_requests_total", result="agree") == 20
    assert metric(text, "slmfleet_router_shadow_duration_seconds_count", backend="b") == 20
    served = {"route": "triage", "model": "a-model", "revision": "a-r1", "code": "200"}
    assert metric(text, "slmfleet_router_requests_total", **served) == 20


async def test_a_slow_shadow_does_not_delay_the_answer() -> None:
    primary, slow = FakeBackend("a", obeys=False), FakeBackend("b")
    async with serving(primary, slow) as (a, b), router(config(shadowed(a, b))) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("sleep:30"))
        assert response.status == 200
        # the client has its answer while the mirror still waits on the shadow backend
        tasks = client.app[STATE].shadower.tasks
        assert len(tasks) == 1 and not next(iter(tasks)).done()


async def test_a_failing_shadow_is_counted_and_fails_nothing() -> None:
    primary = FakeBackend("a")
    async with serving(primary) as (a,), router(config(shadowed(a, closed_port()))) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        assert response.status == 200
        await asyncio.gather(*client.app[STATE].shadower.tasks)
        text = await metrics_text(client)
    assert metric(text, "slmfleet_router_shadow_requests_total", result="error") == 1
    assert metric(text, "slmfleet_router_errors_total") == 0  # not the router's failure


async def test_streams_are_not_mirrored() -> None:
    primary, twin = FakeBackend("echo"), FakeBackend("echo")
    async with serving(primary, twin) as (a, b), router(config(shadowed(a, b))) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("x", stream=True))
        await response.read()
        assert not client.app[STATE].shadower.tasks and not twin.requests


async def test_a_shadow_step_mirrors_to_the_canary_revision_only() -> None:
    stable, canary = FakeBackend("echo"), FakeBackend("echo")
    async with serving(stable, canary) as (a, b):
        splits = [
            {"revision": "r1", "weight": 100, "endpoints": [a]},
            {"revision": "r2", "weight": 0, "endpoints": [b], "mirrorPercent": 100},
        ]
        routes = [{"name": "triage", "backends": [backend("m", [a, b], revisions=splits)]}]
        async with router(config(routes)) as (client, _):
            for i in range(10):
                response = await client.post("/v1/chat/completions", json=chat(f"q{i}"))
                assert response.headers["x-slmfleet-revision"] == "r1"
            await asyncio.gather(*client.app[STATE].shadower.tasks)
            text = await metrics_text(client)
    assert len(stable.requests) == 10 and len(canary.requests) == 10  # the copies only
    agreed = {"backend": "m", "revision": "r2", "result": "agree"}
    assert metric(text, "slmfleet_router_shadow_requests_total", **agreed) == 10


def test_mirror_targets_are_the_route_shadow_and_the_canary_split() -> None:
    route = Route.model_validate(shadowed("h:1", "h:2", percent=10)[0])
    assert mirror_targets(route, route.backend("a")) == [("b", "", 10.0)]
    split = {"revision": "r2", "weight": 0, "endpoints": ["h:3"], "mirrorPercent": 5}
    served = Backend.model_validate(backend("m", ["h:3"], revisions=[split]))
    assert mirror_targets(route, served) == [("b", "", 10.0), ("m", "r2", 5.0)]


async def test_mirrors_beyond_the_limit_are_dropped_and_counted() -> None:
    metrics = RouterMetrics()
    shadower = Shadower(lambda *a: None, metrics, lambda: 0.0, max_in_flight=0)
    route = Route.model_validate(shadowed("h:1", "h:2")[0])
    shadower.start(config([]), route, ("b", ""), "/v1/completions", {}, b"{}")
    assert not shadower.tasks
    assert metrics.shadow.labels("triage", "b", "", "dropped")._value.get() == 1


def answer(text: str) -> bytes:
    return json.dumps({"choices": [{"text": text}]}).encode()


@pytest.mark.parametrize(
    ("served", "shadow", "want"),
    [
        (answer("Paris"), answer(" Paris\n"), "agree"),
        (answer("Paris"), answer("Lyon"), "differ"),
        (answer("Paris"), None, "error"),
        (answer("Paris"), b"not json", "error"),
    ],
)
def test_verdict(served: bytes, shadow: bytes | None, want: str) -> None:
    assert verdict(served, shadow) == want


def test_the_shadow_backend_must_exist() -> None:
    routes = shadowed("h:1", "h:2")
    routes[0]["shadow"]["backend"] = "c"
    with pytest.raises(ValidationError, match="unknown backends"):
        config(routes)


async def test_a_canary_without_endpoints_yet_is_not_judged() -> None:
    primary = FakeBackend("a")
    async with serving(primary) as (a,):
        splits = [
            {"revision": "r1", "weight": 100, "endpoints": [a]},
            {"revision": "r2", "weight": 0, "endpoints": [], "mirrorPercent": 100},
        ]
        routes = [{"name": "triage", "backends": [backend("m", [a], revisions=splits)]}]
        async with router(config(routes)) as (client, _):
            assert (await client.post("/v1/chat/completions", json=chat("x"))).status == 200
            await asyncio.gather(*client.app[STATE].shadower.tasks)
            text = await metrics_text(client)
    assert metric(text, "slmfleet_router_shadow_requests_total", result="dropped") == 1
    assert metric(text, "slmfleet_router_shadow_requests_total", result="error") == 0
