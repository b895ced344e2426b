"""A simulator killed under closed-loop load through the router costs retries, not requests.

The router's config keeps listing the dead endpoint (as it does until the operator's next
config arrives), so every request sent there is refused or reset and must be retried elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_router_sim import (
    Sim,
    chat,
    metric_sum,
    router,
    router_config,
    sim_binary,
    start_sim,
    stop_process,
)

from slmfleet.devcluster.load import ClosedLoop, describe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MODEL = "sim-pair"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[list[Sim]]:
    binary = sim_binary()
    if binary is None:
        pytest.fail("llm-d-inference-sim not found: run `make tools` (or set SLMFLEET_SIM_BIN)")
    started: list[Sim] = []
    try:
        for index in range(2):
            logs = tmp_path / str(index)
            logs.mkdir()
            started.append(start_sim(binary, MODEL, logs))
        yield started
    finally:
        for sim in started:
            stop_process(sim.proc)


async def test_a_backend_killed_under_load_fails_no_request(pair: list[Sim]) -> None:
    victim, survivor = pair
    backend = {
        "name": "pair",
        "model": MODEL,
        "revision": "r1",
        "endpoints": [victim.endpoint, survivor.endpoint],
    }
    config = router_config([{"name": MODEL, "backends": [backend]}], endpointPolicy="roundRobin")
    async with router(config) as client:
        url = str(client.make_url("/v1/chat/completions"))
        load = ClosedLoop(url, chat("hello", MODEL), concurrency=8, max_requests=3000)
        running = asyncio.ensure_future(load.run())
        while load.tallies()["start"].total < 300 and not running.done():
            await asyncio.sleep(0.01)
        load.mark("victim killed")
        victim.kill()
        tallies = await running
        metrics = await (await client.get("/metrics")).text()
    assert sum(t.total for t in tallies.values()) == 3000
    assert sum(t.failed for t in tallies.values()) == 0, describe(tallies)
    assert tallies["victim killed"].total > 0
    assert metric_sum(metrics, "slmfleet_router_retries_total") > 0
    assert metric_sum(metrics, "slmfleet_router_errors_total") == 0
