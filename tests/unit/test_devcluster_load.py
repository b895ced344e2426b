"""The closed-loop load client: bounded by count, time or stop(), outcomes tallied per phase."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from router_fakes import closed_port

from slmfleet.devcluster.load import ClosedLoop, OpenLoop, Tally, describe

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


@asynccontextmanager
async def flaky_server() -> AsyncIterator[str]:
    """Every other request fails with 503; streams end with [DONE] on every other success."""
    count = itertools.count()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        n = next(count)
        if n % 2:
            return web.json_response({"error": "busy"}, status=503)
        if not body.get("stream"):
            return web.json_response({"ok": n})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: {}\n\n")
        if n % 4 == 0:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/v1/chat/completions"
    finally:
        await server.close()


async def test_counts_statuses_up_to_the_request_bound() -> None:
    async with flaky_server() as url:
        tallies = await ClosedLoop(url, {"model": "m"}, concurrency=4, max_requests=20).run()
    assert tallies["start"].statuses == {200: 10, 503: 10}
    assert (tallies["start"].total, tallies["start"].failed) == (20, 10)


async def test_a_stream_cut_short_is_a_failure() -> None:
    async with flaky_server() as url:
        body = {"model": "m", "stream": True}
        tally = (await ClosedLoop(url, body, concurrency=1, max_requests=8).run())["start"]
    assert tally.statuses == {200: 2, 503: 4}
    assert tally.exceptions == {"IncompleteStream": 2}


async def test_no_answer_counts_by_exception_class() -> None:
    url = f"http://{closed_port()}/v1/chat/completions"
    tally = (await ClosedLoop(url, {}, concurrency=2, max_requests=5).run())["start"]
    assert tally.exceptions == {"ClientConnectorError": 5}
    assert tally.failed == 5
    assert "ClientConnectorError: 5" in describe({"start": tally})


async def test_the_time_bound_stops_sending() -> None:
    ticks = itertools.count()  # every look at the clock is one second later
    async with flaky_server() as url:
        load = ClosedLoop(url, {}, concurrency=3, max_seconds=5, clock=lambda: float(next(ticks)))
        tally = (await load.run())["start"]
    assert tally.total == 4  # sent at 1, 2, 3 and 4 s; the deadline (0 + 5 s) ends it


async def test_phases_in_a_background_thread() -> None:
    async def until(load: ClosedLoop, phase: str, count: int) -> None:
        while load.tallies()[phase].total < count:
            await asyncio.sleep(0.01)

    async with flaky_server() as url:
        load = ClosedLoop(url, {}, concurrency=2).start()
        await until(load, "start", 4)
        load.mark("promote")
        await until(load, "promote", 4)
        tallies = await asyncio.to_thread(load.stop)
    assert list(tallies) == ["start", "promote"]
    assert all(t.total >= 4 and t.statuses.keys() <= {200, 503} for t in tallies.values())
    assert Tally().describe() == "0 requests, 0 failed (none)"


async def test_an_open_loop_sends_at_its_rate_over_every_url_and_counts_the_same() -> None:
    async with flaky_server() as url:
        load = OpenLoop([url, closed_port_url()], {"model": "m"}, rate=400, max_requests=20)
        tallies = await load.run()
    tally = tallies["start"]
    assert tally.total == 20  # 10 to the server (half of them 503), 10 to a closed port
    assert tally.statuses == {200: 5, 503: 5} and tally.exceptions == {"ClientConnectorError": 10}


def closed_port_url() -> str:
    return f"http://{closed_port()}/v1/chat/completions"


def test_an_open_loop_needs_a_rate_and_a_url() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        OpenLoop([], {}, rate=10)
    with pytest.raises(ValueError, match="positive rate"):
        OpenLoop(["http://x"], {}, rate=0)
