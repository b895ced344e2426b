"""The operator's view of which config generation each ready router replica serves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from router_fakes import backend, closed_port, config, router

from slmfleet.builders import router as router_builder
from slmfleet.traffic.router_generation import (
    all_serve,
    fetch_generation,
    router_addresses,
    served_generations,
    written_generation,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def pod(ip: str, ready: bool = True, deleting: bool = False, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": labels or router_builder.router_selector()}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {
        "metadata": meta,
        "status": {"phase": "Running", "podIP": ip, "conditions": [condition]},
    }


def test_only_ready_router_pods_are_asked() -> None:
    pods = [
        pod("10.0.0.2"),
        pod("10.0.0.1"),
        pod("10.0.0.3", ready=False),
        pod("10.0.0.4", deleting=True),
        pod("10.0.0.5", app="engine"),
    ]
    assert router_addresses(pods) == ["10.0.0.1:8080", "10.0.0.2:8080"]


def test_the_config_map_carries_the_generation_routers_report() -> None:
    cfg = config([{"name": "triage", "backends": [backend("a", ["10.0.0.1:8000"])]}])
    config_map = router_builder.config_map("ns", cfg, [("SmallModel", "m", "uid")])
    assert written_generation(config_map) == cfg.content_generation()
    assert written_generation({"metadata": {}}) is None


def test_every_router_must_serve_the_wanted_generation() -> None:
    answers = {"a:8080": "g2", "b:8080": "g1"}
    generations = served_generations(answers, fetch=answers.get)
    assert not all_serve(generations, "g2")
    assert all_serve({"a:8080": "g2"}, "g2")
    assert not all_serve({"a:8080": None}, "g2")  # a router that did not answer holds it up
    assert all_serve({}, "g2")


async def test_fetch_asks_the_router_over_health() -> None:
    cfg = config([{"name": "triage", "backends": [backend("a", ["10.0.0.1:8000"])]}]).stamped()
    async with router(cfg) as (client, _):
        address = f"{client.server.host}:{client.server.port}"
        served = await asyncio.to_thread(fetch_generation, address)
    assert served == cfg.generation
    assert await asyncio.to_thread(fetch_generation, closed_port(), 0.5) is None
