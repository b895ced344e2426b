"""The router reports the config generation it serves, in /health and as a metric."""

from __future__ import annotations

import pytest
from router_fakes import backend, config, metric, metrics_text, router

from slmfleet.router.config import RouterConfig, parse_config

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ONE = config([{"name": "triage", "backends": [backend("a", ["10.0.0.1:8000"])]}])
TWO = config([{"name": "triage", "backends": [backend("a", ["10.0.0.2:8000"])]}])


def test_the_generation_names_the_content() -> None:
    assert ONE.content_generation() == config(list(ONE.model_dump()["routes"])).content_generation()
    assert ONE.content_generation() != TWO.content_generation()
    stamped = ONE.stamped()
    assert stamped.generation == ONE.content_generation()
    assert stamped.content_generation() == ONE.content_generation()  # not part of its own hash
    assert parse_config(stamped.to_json()) == stamped


def test_a_written_generation_wins_over_the_hash() -> None:
    written = RouterConfig.model_validate({"generation": "abc123", "routes": []})
    assert written.served_generation == "abc123"
    assert ONE.served_generation == ONE.content_generation()
    with pytest.raises(ValueError, match="generation"):
        RouterConfig.model_validate({"generation": "Not A Hash!"})


async def test_health_and_metric_follow_the_config_swaps() -> None:
    async with router(ONE.stamped()) as (client, source):
        before = (await (await client.get("/health")).json())["generation"]
        text_before = await metrics_text(client)
        source.replace(TWO.stamped())
        after = (await (await client.get("/health")).json())["generation"]
        text_after = await metrics_text(client)
    assert (before, after) == (ONE.content_generation(), TWO.content_generation())
    name = "slmfleet_router_config_generation"
    assert metric(text_before, name, generation=before) == 1
    assert metric(text_after, name, generation=after) == 1
    assert f'generation="{before}"' not in text_after
