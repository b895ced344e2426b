"""The router application in-process, against fake OpenAI backends on loopback.

The fakes are in router_fakes.py; the simulator-backed tests are in
tests/integration/test_router_sim.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
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
    triage_router,
    triage_routes,
)

from slmfleet.router.server import STATE, build_app

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


async def test_forwards_with_backend_model_and_reports_backend() -> None:
    fake = FakeBackend("a")
    async with triage_router(fake) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hello"))
        assert response.status == 200
        assert response.headers["x-slmfleet-backend"] == "a"
        assert response.headers["x-slmfleet-revision"] == "a-r1"
        document = await response.json()
        assert document["choices"][0]["message"]["content"] == "a:hello"
        assert fake.requests[0][1]["model"] == "a-model"
        text = await metrics_text(client)
    labels = {"route": "triage", "model": "a-model", "revision": "a-r1", "code": "200"}
    assert metric(text, "slmfleet_router_requests_total", **labels) == 1
    assert metric(text, "slmfleet_router_tokens_total", kind="prompt") == 3
    assert metric(text, "slmfleet_router_tokens_total", kind="completion") == 5
    assert metric(text, "slmfleet_router_in_flight_requests", backend="a") == 0


async def test_models_and_health() -> None:
    routes: list[dict[str, Any]] = [
        {"name": "triage", "match": {"model": "support-triage"}, "backends": [backend("a", [])]},
        {"name": "summarize", "backends": [backend("a", [])]},
    ]
    cfg = config(routes)
    async with router(cfg) as (client, _):
        models = await (await client.get("/v1/models")).json()
        health = await (await client.get("/health")).json()
    assert [m["id"] for m in models["data"]] == ["triage", "support-triage", "summarize"]
    assert health == {
        "status": "ok", "routes": 2, "generation": cfg.content_generation(), "inFlight": {}
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "kind", "code"),
    [
        (json.dumps(chat("hi", model="nope")).encode(), 404, "no_route", "model_not_found"),
        (b"{not json", 400, "bad_request", "bad_request"),
        (json.dumps(chat("x" * 400)).encode(), 413, "body_too_large", "body_too_large"),
        (json.dumps(chat("hi")).encode(), 503, "no_endpoints", "no_endpoints"),
    ],
)
async def test_rejections_use_openai_error_shape(
    body: bytes, status: int, kind: str, code: str
) -> None:
    routes = triage_routes([])
    cfg = config(routes, maxBodyBytes=300, holdWhenNoEndpointsSeconds=0)
    async with router(cfg) as (client, _):
        response = await client.post("/v1/chat/completions", data=body)
        assert response.status == status
        document = await response.json()
        text = await metrics_text(client)
    assert set(document["error"]) == {"message", "type", "param", "code"}
    assert document["error"]["code"] == code
    assert metric(text, "slmfleet_router_errors_total", kind=kind) == 1


async def test_body_limit_applies_without_content_length() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 100  # 1,000 bytes in all, sent chunked

    routes = triage_routes([])
    async with router(config(routes, maxBodyBytes=500)) as (client, _):
        response = await client.post("/v1/chat/completions", data=chunks())
        assert response.status == 413


async def test_fallback_on_connection_refused() -> None:
    fake = FakeBackend("b")
    async with serving(fake) as (endpoint,):
        backends = [backend("a", [closed_port()]), backend("b", [endpoint], weight=0)]
        routes = [{"name": "triage", "backends": backends, "fallback": ["b"]}]
        async with router(config(routes)) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            assert response.status == 200
            assert response.headers["x-slmfleet-backend"] == "b"
            text = await metrics_text(client)
    assert metric(text, "slmfleet_router_errors_total", kind="connect") == 1
    # falls back at once: the lost backend's request is not held for a newer config
    assert metric(text, "slmfleet_router_cold_start_hold_seconds_count", route="triage") == 0


async def test_5xx_retries_another_endpoint_then_passes_upstream_error_when_all_fail() -> None:
    fake = FakeBackend("a")
    async with serving(fake, FakeBackend("a2")) as endpoints:
        routes = triage_routes(endpoints, retries=1)
        async with router(config(routes, endpointPolicy="roundRobin")) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("status:503"))
            assert response.status == 503  # both endpoints answered 503: the last one is passed on
            text = await metrics_text(client)
    assert metric(text, "slmfleet_router_errors_total", kind="5xx") == 2


@pytest.mark.parametrize(("fallback", "status", "served_by"), [([], 504, "a"), (["b"], 200, "b")])
async def test_per_attempt_timeout(fallback: list[str], status: int, served_by: str) -> None:
    async with serving(FakeBackend("a"), FakeBackend("b", obeys=False)) as (slow, fast):
        backends = [backend("a", [slow]), backend("b", [fast], weight=0)]
        routes = [
            {"name": "triage", "backends": backends, "timeoutSeconds": 0.2, "fallback": fallback}
        ]
        async with router(config(routes)) as (client, _):
            started = time.monotonic()
            response = await client.post("/v1/chat/completions", json=chat("sleep:2"))
            assert response.status == status
            assert response.headers["x-slmfleet-backend"] == served_by
            # Given up after the 0.2 s attempt limit, long before the slow backend's 2 s.
            assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(("backend_limit", "status"), [(0.2, 504), (None, 200)])
async def test_a_backend_timeout_overrides_the_route_timeout(
    backend_limit: float | None, status: int
) -> None:
    async with serving(FakeBackend("a")) as (slow,):
        extra = {} if backend_limit is None else {"timeoutSeconds": backend_limit}
        routes = [{"name": "triage", "backends": [backend("a", [slow], **extra)],
                   "timeoutSeconds": 30}]  # fmt: skip
        async with router(config(routes)) as (client, _):
            started = time.monotonic()
            response = await client.post("/v1/chat/completions", json=chat("sleep:0.6"))
            elapsed = time.monotonic() - started
    assert response.status == status
    # 0.2 s limit: given up well before the backend's 0.6 s; without it the answer waits 0.6 s.
    assert (elapsed < 0.5) is (backend_limit is not None)


async def test_hold_waits_for_endpoints_to_appear() -> None:
    fake = FakeBackend("a")
    async with serving(fake) as (endpoint,):
        cold = config(triage_routes([]))
        warm = config(triage_routes([endpoint]))
        async with router(cold) as (client, source):
            request = asyncio.ensure_future(client.post("/v1/chat/completions", json=chat("hi")))
            await asyncio.sleep(0.3)
            assert not request.done()
            source.replace(warm)
            response = await asyncio.wait_for(request, 5)
            assert response.status == 200
            text = await metrics_text(client)
    held = metric(text, "slmfleet_router_cold_start_hold_seconds_sum", backend="a")
    assert 0.3 <= held < 3


async def test_hold_gives_up_with_503_after_the_configured_time() -> None:
    routes = triage_routes([])
    async with router(config(routes, holdWhenNoEndpointsSeconds=0.3)) as (client, _):
        started = time.monotonic()
        response = await client.post("/v1/chat/completions", json=chat("hi"))
        waited = time.monotonic() - started
        document = await response.json()
    assert response.status == 503
    assert "no ready endpoints" in document["error"]["message"]
    assert 0.3 <= waited < 2


async def test_external_backend_gets_api_key_from_env() -> None:
    fake = FakeBackend("ext")
    async with serving(fake) as (endpoint,):
        ext = {"name": "ext", "model": "gpt-x", "url": f"http://{endpoint}/v1", "apiKeyEnv": "K"}
        routes = [{"name": "triage", "backends": [ext]}]
        async with router(config(routes), env={"K": "sk-test"}) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            assert response.status == 200
    headers, body = fake.requests[0]
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "gpt-x"


class FixedDraws:
    """Stands in for random.Random: returns the given draws in order."""

    def __init__(self, draws: Sequence[float]) -> None:
        self._draws = list(draws)

    def random(self) -> float:
        return self._draws.pop(0)


async def test_weighted_split_follows_the_draws() -> None:
    async with serving(FakeBackend("a"), FakeBackend("b")) as (ea, eb):
        backends = [backend("a", [ea], weight=80), backend("b", [eb], weight=20)]
        routes = [{"name": "triage", "backends": backends}]
        # 80/20: draws below 0.8 go to a, the rest to b.
        draws = [0.1, 0.85, 0.79, 0.8, 0.5]
        async with router(config(routes), rng=FixedDraws(draws)) as (client, _):
            served = []
            for _ in draws:
                response = await client.post("/v1/chat/completions", json=chat("hi"))
                served.append(response.headers["x-slmfleet-backend"])
    assert served == ["a", "b", "a", "b", "a"]


def cascade_route(small: str, large: str, **policy: Any) -> dict[str, Any]:
    return {
        "name": "triage",
        "backends": [backend("small", [small]), backend("large", [large], weight=0)],
        "cascade": {"tiers": ["small", "large"], **policy},
    }


@pytest.mark.parametrize(
    ("prompt", "tier", "escalations", "backend_name"),
    [
        ("logprob:-2.0", "1", "uncertain", "large"),  # mean -2.0 < -1.0
        ("logprob:-0.5", "0", None, "small"),
        ("status:503", "1", "error", "large"),
    ],
)
async def test_cascade_escalates_on_low_logprob_and_hides_logprobs(
    prompt: str, tier: str, escalations: str | None, backend_name: str
) -> None:
    small, large = FakeBackend("small"), FakeBackend("large", obeys=False)
    async with serving(small, large) as (es, el):
        route = cascade_route(es, el, minMeanLogprob=-1.0, maxEscalationFraction=1.0)
        async with router(config([route])) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat(prompt))
            document = await response.json()
            text = await metrics_text(client)
    assert response.status == 200
    assert response.headers["x-slmfleet-cascade-tier"] == tier
    assert response.headers.get("x-slmfleet-escalations") == escalations
    assert response.headers["x-slmfleet-backend"] == backend_name
    assert small.requests[0][1]["logprobs"] is True  # the router asked for logprobs
    assert "logprobs" not in document["choices"][0]  # and hid them from this client
    count = metric(text, "slmfleet_router_escalations_total", reason=escalations or "none")
    assert count == (1 if escalations else 0)


async def test_cascade_budget_denies_and_returns_the_lower_tier() -> None:
    async with serving(FakeBackend("small"), FakeBackend("large")) as (es, el):
        route = cascade_route(es, el, regex="never", maxEscalationFraction=0.0)
        async with router(config([route])) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi"))
            text = await metrics_text(client)
    assert response.headers["x-slmfleet-cascade-tier"] == "0"
    assert response.headers["x-slmfleet-backend"] == "small"
    assert metric(text, "slmfleet_router_escalations_denied_total", reason="invalid") == 1


async def test_streaming_skips_cascade_and_passes_chunks_as_they_come() -> None:
    small = FakeBackend("small", stream_chunks=5, stream_delay=0.2)
    async with serving(small, FakeBackend("large")) as (es, el):
        route = cascade_route(es, el, regex="never", maxEscalationFraction=1.0)
        async with router(config([route])) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi", stream=True))
            assert response.headers["x-slmfleet-cascade"] == "skipped-streaming"
            assert response.headers["Content-Type"].startswith("text/event-stream")
            arrivals: list[float] = []
            payload = b""
            async for chunk in response.content.iter_any():
                arrivals.append(time.monotonic())
                payload += chunk
    events = [line for line in payload.decode().split("\n\n") if line]
    assert len(events) == 6 and events[-1] == "data: [DONE]"
    # The first chunk reached the client before the backend had sent its last one.
    assert arrivals[0] < small.chunk_sent_at[-1]
    assert len(arrivals) >= 3


async def test_in_flight_request_keeps_its_snapshot_across_a_swap() -> None:
    async with serving(FakeBackend("a"), FakeBackend("b")) as (ea, eb):
        old = config(triage_routes([ea]))
        new = config([{"name": "triage", "backends": [backend("b", [eb])]}])
        async with router(old) as (client, source):
            slow = asyncio.ensure_future(
                client.post("/v1/chat/completions", json=chat("sleep:0.5"))
            )
            await asyncio.sleep(0.2)
            source.replace(new)
            fresh = await client.post("/v1/chat/completions", json=chat("hi"))
            finished = await asyncio.wait_for(slow, 5)
            assert app_state_in_flight(client) == {}
    assert finished.status == 200 and finished.headers["x-slmfleet-backend"] == "a"
    assert fresh.status == 200 and fresh.headers["x-slmfleet-backend"] == "b"


def app_state_in_flight(client: TestClient[web.Request, web.Application]) -> dict[str, int]:
    app = client.app
    assert app is not None
    return dict(app[STATE].forwarder.in_flight)


async def test_client_closing_a_stream_releases_the_backend() -> None:
    fake = FakeBackend("a", stream_chunks=20, stream_delay=0.1)
    async with triage_router(fake) as (client, _):
        response = await client.post("/v1/chat/completions", json=chat("hi", stream=True))
        await response.content.readany()
        response.close()
        for _ in range(50):  # bounded: 5 s at most
            if not app_state_in_flight(client):
                break
            await asyncio.sleep(0.1)
        assert app_state_in_flight(client) == {}


def test_build_app_accepts_a_path(tmp_path: Any) -> None:
    path = tmp_path / "router.json"
    path.write_text(json.dumps({"routes": []}), encoding="utf-8")
    app = build_app(path)
    assert app[STATE].source.current().routes == ()
