"""The router against real llm-d-inference-sim processes on loopback.

Every simulator runs in echo mode, so each answer is the request's last message and which
cascade checks fail is known before the request is sent. Every process started here is stopped
by its fixture, also when a test fails; every request loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from slmfleet.router.config import RouterConfig
from slmfleet.router.config_source import StaticConfigSource
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.server import build_app

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

Client = TestClient[web.Request, web.Application]
LABEL_SCHEMA = {
    "type": "object",
    "required": ["label"],
    "properties": {"label": {"enum": ["bug", "billing"]}},
}


def sim_binary() -> str | None:
    """SLMFLEET_SIM_BIN, else llm-d-inference-sim on PATH, else the project's tool cache."""
    configured = os.environ.get("SLMFLEET_SIM_BIN") or shutil.which("llm-d-inference-sim")
    if configured:
        return configured
    try:
        from slmfleet.devcluster import tools
    except ImportError:
        return None
    try:
        cached = Path(tools.binary_path("llm-d-inference-sim"))
    except (AttributeError, KeyError, OSError):
        return None
    return str(cached) if cached.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Poll `url` until it answers 200; fail with the log tail if the process dies or hangs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"{proc.args!r} exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    pytest.fail(f"{url} not ready after {seconds}s:\n{log.read_text(errors='replace')[-2000:]}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Sim:
    """One simulator process serving `model` on 127.0.0.1:`port`."""

    model: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=5)


def start_sim(binary: str, model: str, logs: Path, *extra: str) -> Sim:
    port = free_port()
    log = logs / f"{model}.log"
    args = [
        binary, "--model", model, "--port", str(port), "--mode", "echo",
        "--force-dummy-tokenizer", "--max-num-seqs", "256", *extra,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", proc, log, 30)
    except BaseException:
        stop_process(proc)
        raise
    return Sim(model, port, proc)


@pytest.fixture(scope="module")
def sim_bin() -> str:
    binary = sim_binary()
    if binary is None:
        # Never skip quietly: a missing simulator is a broken test environment.
        pytest.fail("llm-d-inference-sim not found: run `make tools` (or set SLMFLEET_SIM_BIN)")
    return binary


@pytest.fixture(scope="module")
def sims(sim_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sim]]:
    logs = tmp_path_factory.mktemp("sim-logs")
    started: dict[str, Sim] = {}
    try:
        for model, extra in [
            ("sim-a", ()),
            ("sim-b", ()),
            ("sim-stream", ("--time-to-first-token", "100ms", "--inter-token-latency", "60ms")),
            ("sim-broken", ("--failure-injection-rate", "100", "--failure-types", "server_error")),
        ]:
            started[model] = start_sim(sim_bin, model, logs, *extra)
        yield started
    finally:
        for sim in started.values():
            stop_process(sim.proc)


@pytest.fixture
def victim(sim_bin: str, tmp_path: Path) -> Iterator[Sim]:
    sim = start_sim(sim_bin, "sim-victim", tmp_path)
    try:
        yield sim
    finally:
        stop_process(sim.proc)


def backend(name: str, sim: Sim, weight: int = 100, **extra: Any) -> dict[str, Any]:
    fields = {"name": name, "model": sim.model, "weight": weight, "revision": f"{name}-rev"}
    return {**fields, "endpoints": [sim.endpoint], **extra}


def router_config(routes: Sequence[dict[str, Any]], **defaults: Any) -> RouterConfig:
    return RouterConfig.model_validate({"defaults": defaults, "routes": list(routes)})


@asynccontextmanager
async def router(config: RouterConfig, **kwargs: Any) -> AsyncIterator[Client]:
    app = build_app(StaticConfigSource(config), metrics=RouterMetrics(), **kwargs)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def chat(content: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not re.match(rf"{re.escape(name)}[{{ ]", line):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def router_metric(client: Client, name: str, **labels: str) -> float:
    return metric_sum(await (await client.get("/metrics")).text(), name, **labels)


async def routed(client: Client, body: dict[str, Any], **headers: str) -> tuple[int, str, Any]:
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    return response.status, response.headers.get("x-slmfleet-backend", ""), await response.json()


async def test_routes_by_model_name_and_header(sims: dict[str, Sim]) -> None:
    routes: list[dict[str, Any]] = [
        {"name": "alpha", "match": {"model": "support-triage"}, "backends": [backend("a", sims["sim-a"])]},
        {
            "name": "alpha-acme",
            "match": {"model": "support-triage", "headers": {"x-tenant": "acme"}},
            "backends": [backend("b", sims["sim-b"])],
        },
        {"name": "beta", "backends": [backend("b", sims["sim-b"])]},
    ]  # fmt: skip
    cases = [
        ("support-triage", {}, 200, "a", "sim-a"),
        ("alpha", {}, 200, "a", "sim-a"),
        ("support-triage", {"x-tenant": "acme"}, 200, "b", "sim-b"),
        ("support-triage", {"x-tenant": "other"}, 200, "a", "sim-a"),
        ("beta", {}, 200, "b", "sim-b"),
        ("gamma", {}, 404, "", None),
    ]
    async with router(router_config(routes)) as client:
        models = await (await client.get("/v1/models")).json()
        for model, headers, status, served_by, sim_model in cases:
            prompt = f"hello {model} {len(headers)}"
            got_status, got_backend, document = await routed(client, chat(prompt, model), **headers)
            assert (got_status, got_backend) == (status, served_by), (model, headers)
            if status == 200:
                assert document["model"] == sim_model
                assert document["choices"][0]["message"]["content"] == prompt  # echo mode
            else:
                assert document["error"]["code"] == "model_not_found"
    assert [m["id"] for m in models["data"]] == ["alpha", "support-triage", "alpha-acme", "beta"]


async def sim_successes(sim: Sim) -> float:
    url = f"http://{sim.endpoint}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    return metric_sum(text, "vllm:request_success_total", model_name=sim.model)


async def test_weighted_split_80_20_over_1000_requests(sims: dict[str, Sim]) -> None:
    a, b = sims["sim-a"], sims["sim-b"]
    backends = [backend("a", a, weight=80), backend("b", b, weight=20)]
    before = (await sim_successes(a), await sim_successes(b))
    served: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    async with router(router_config([{"name": "split", "backends": backends}])) as client:
        gate = asyncio.Semaphore(32)

        async def one(index: int) -> None:
            async with gate:
                status, name, _ = await routed(client, chat(f"request {index}", "split"))
                statuses[status] += 1
                served[name] += 1

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(1000))), timeout=120)
    assert statuses == {200: 1000}
    # Binomial(1000, 0.8): mean 800, standard deviation sqrt(1000 * 0.8 * 0.2) = 12.6;
    # 740..860 is about 4.7 standard deviations either side.
    assert 740 <= served["a"] <= 860
    assert served["a"] + served["b"] == 1000
    # The simulators saw the same split (their counters may lag a moment behind).
    for _ in range(50):
        after = (await sim_successes(a), await sim_successes(b))
        if (after[0] - before[0], after[1] - before[1]) == (served["a"], served["b"]):
            break
        await asyncio.sleep(0.1)
    assert (after[0] - before[0], after[1] - before[1]) == (served["a"], served["b"])


async def test_fallback_when_the_backend_process_is_killed(
    sims: dict[str, Sim], victim: Sim
) -> None:
    backends = [backend("victim", victim), backend("b", sims["sim-b"], weight=0)]
    route = {"name": "gamma", "backends": backends, "fallback": ["b"]}
    async with router(router_config([route])) as client:
        for index in range(20):
            status, name, _ = await routed(client, chat(f"before {index}", "gamma"))
            assert (status, name) == (200, "victim")
        victim.kill()
        results = await asyncio.wait_for(
            asyncio.gather(*(routed(client, chat(f"after {i}", "gamma")) for i in range(50))),
            timeout=60,
        )
        connect_errors = await router_metric(client, "slmfleet_router_errors_total", kind="connect")
    assert [(status, name) for status, name, _ in results] == [(200, "b")] * 50
    assert connect_errors >= 1


async def test_retries_then_fallback_on_5xx(sims: dict[str, Sim]) -> None:
    backends = [backend("broken", sims["sim-broken"]), backend("a", sims["sim-a"], weight=0)]
    route = {"name": "delta", "backends": backends, "fallback": ["a"], "retries": 1}
    async with router(router_config([route])) as client:
        results = [await routed(client, chat(f"try {i}", "delta")) for i in range(10)]
        server_errors = await router_metric(client, "slmfleet_router_errors_total", kind="5xx")
    assert [(status, name) for status, name, _ in results] == [(200, "a")] * 10
    assert server_errors == 20  # 10 requests x (1 attempt + 1 retry) on the broken backend


def cascade_route(name: str, sims: dict[str, Sim], **policy: Any) -> dict[str, Any]:
    backends = [backend("small", sims["sim-a"]), backend("large", sims["sim-b"], weight=0)]
    return {"name": name, "backends": backends, "cascade": {"tiers": ["small", "large"], **policy}}


# (prompt, extra request fields, expected tier, expected escalation reason)
CASCADE_CASES: list[tuple[str, dict[str, Any], int, str | None]] = [
    ('{"label": "bug"}', {}, 0, None),
    ('{"label": "billing", "urgent": true}', {}, 0, None),
    ('{"label": "spam"}', {}, 1, "invalid"),  # not in the enum
    ('{"urgent": true}', {}, 1, "invalid"),  # label missing
    ("the label is bug", {}, 1, "invalid"),  # not JSON
    ("[1, 2]", {}, 1, "invalid"),  # not an object
    # max_tokens 2 is shorter than the echoed answer: finish_reason "length" (checked first).
    ('{"label": "bug"}', {"max_tokens": 2}, 1, "length"),
    ('{"label": "bug"}', {"max_tokens": 200}, 0, None),
]


async def test_cascade_escalates_exactly_the_answers_that_fail(sims: dict[str, Sim]) -> None:
    schema_route = cascade_route(
        "classify", sims, jsonSchema=LABEL_SCHEMA, maxEscalationFraction=1.0
    )
    regex_route = cascade_route("yesno", sims, regex="yes|no", maxEscalationFraction=1.0)
    regex_cases = [("yes", 0), ("no", 0), ("maybe", 1), ("yes please", 1), ("No", 1)]
    async with router(router_config([schema_route, regex_route])) as client:
        for prompt, extra, tier, reason in CASCADE_CASES:
            response = await client.post(
                "/v1/chat/completions", json=chat(prompt, "classify", **extra)
            )
            document = await response.json()
            assert response.status == 200
            assert response.headers["x-slmfleet-cascade-tier"] == str(tier), prompt
            assert response.headers.get("x-slmfleet-escalations") == reason, prompt
            assert document["model"] == ("sim-a", "sim-b")[tier]
        for prompt, tier in regex_cases:
            response = await client.post("/v1/chat/completions", json=chat(prompt, "yesno"))
            assert response.headers["x-slmfleet-cascade-tier"] == str(tier), prompt
        text = await (await client.get("/metrics")).text()
    invalid = sum(1 for case in CASCADE_CASES if case[3] == "invalid")
    assert invalid == 4
    name = "slmfleet_router_escalations_total"
    assert metric_sum(text, name, route="classify", reason="invalid") == invalid
    assert metric_sum(text, name, route="classify", reason="length") == 1
    assert metric_sum(text, name, route="yesno", reason="invalid") == 3


async def test_cascade_budget_caps_the_escalated_fraction(sims: dict[str, Sim]) -> None:
    route = cascade_route("capped", sims, regex="never", maxEscalationFraction=0.5)
    async with router(router_config([route])) as client:
        tiers = []
        for index in range(10):
            response = await client.post("/v1/chat/completions", json=chat(f"x{index}", "capped"))
            tiers.append(int(response.headers["x-slmfleet-cascade-tier"]))
    # Every answer fails; request n may escalate while (escalated + 1) / (n + 1) <= 0.5:
    # n = 0 -> 1/1 no, n = 1 -> 1/2 yes, n = 2 -> 2/3 no, n = 3 -> 2/4 yes, ...
    assert tiers == [0, 1] * 5


async def test_streaming_passes_chunks_through_as_they_arrive(sims: dict[str, Sim]) -> None:
    prompt = "one two three four five six seven eight nine ten"
    route = {"name": "stream", "backends": [backend("s", sims["sim-stream"])]}
    async with router(router_config([route])) as client:
        started = time.monotonic()
        response = await client.post(
            "/v1/chat/completions", json=chat(prompt, "stream", stream=True)
        )
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["x-slmfleet-backend"] == "s"
        arrivals: list[float] = []
        raw = b""
        async for chunk in response.content.iter_any():
            arrivals.append(time.monotonic() - started)
            raw += chunk
    events = [line.removeprefix("data: ") for line in raw.decode().split("\n\n") if line.strip()]
    assert events[-1] == "[DONE]"
    deltas = [
        json.loads(event)["choices"][0]["delta"].get("content") or "" for event in events[:-1]
    ]
    assert "".join(deltas) == prompt
    # 10 words at 60 ms per token arrive over at least ~0.5 s in separate pieces; a buffering
    # proxy would deliver everything at once at the end.
    assert len(arrivals) >= 5
    assert arrivals[-1] - arrivals[0] >= 0.4


async def test_body_limit_returns_413(sims: dict[str, Sim]) -> None:
    route = {"name": "alpha", "backends": [backend("a", sims["sim-a"])]}
    async with router(router_config([route], maxBodyBytes=4096)) as client:
        small_status, _, _ = await routed(client, chat("x" * 1000, "alpha"))
        big_status, _, document = await routed(client, chat("x" * 10_000, "alpha"))
        too_large = await router_metric(
            client, "slmfleet_router_errors_total", kind="body_too_large"
        )
    assert small_status == 200
    assert big_status == 413
    assert document["error"]["code"] == "body_too_large"
    assert too_large == 1


def write_atomically(path: Path, config: RouterConfig) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(config.to_json(), encoding="utf-8")
    os.replace(staging, path)


@pytest.fixture
def router_process(
    sims: dict[str, Sim], tmp_path: Path
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`python -m slmfleet.router` on a config file that the test rewrites."""
    config_path = tmp_path / "router.json"
    write_atomically(config_path, reload_config(sims, "a"))
    port = free_port()
    log = tmp_path / "router.log"
    args = [
        sys.executable, "-m", "slmfleet.router", "--config", str(config_path),
        "--host", "127.0.0.1", "--port", str(port), "--poll-interval", "0.1",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", proc, log, 30)
        yield f"http://127.0.0.1:{port}", config_path, proc
    finally:
        stop_process(proc)


def reload_config(sims: dict[str, Sim], variant: str) -> RouterConfig:
    weights = {"a": (100, 0), "b": (0, 100), "ab": (50, 50)}[variant]
    backends = [
        backend("a", sims["sim-a"], weight=weights[0]),
        backend("b", sims["sim-b"], weight=weights[1]),
    ]
    return router_config([{"name": "alpha", "backends": backends}])


async def test_config_reload_under_load_fails_no_request(
    sims: dict[str, Sim], router_process: tuple[str, Path, subprocess.Popen[bytes]]
) -> None:
    base, config_path, proc = router_process
    statuses: Counter[int] = Counter()
    served: Counter[str] = Counter()
    stop = asyncio.Event()
    finished_at: list[float] = []

    async def worker(session: aiohttp.ClientSession, worker_id: int) -> None:
        for index in range(2000):  # bounded in count; the test stops it after the swaps
            if stop.is_set():
                return
            body = chat(f"w{worker_id} r{index}", "alpha")
            async with session.post(f"{base}/v1/chat/completions", json=body) as response:
                statuses[response.status] += 1
                served[response.headers.get("x-slmfleet-backend", "")] += 1
                await response.read()
            finished_at.append(time.monotonic())

    async with aiohttp.ClientSession() as session:
        workers = [asyncio.ensure_future(worker(session, i)) for i in range(8)]
        for variant in ["b", "ab", "a", "b"]:
            await asyncio.sleep(0.4)
            write_atomically(config_path, reload_config(sims, variant))
        last_write = time.monotonic()
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGHUP)  # an explicit reload of the same file changes nothing
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=60)
        # The last config sends everything to b.
        after = [await session.post(f"{base}/v1/chat/completions", json=chat("z", "alpha"))]
        last_backends = {response.headers["x-slmfleet-backend"] for response in after}
        for response in after:
            response.release()
        async with session.get(f"{base}/metrics") as response:
            metrics = await response.text()
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) >= 50
    assert max(finished_at) > last_write + 0.5  # the load ran through every swap
    assert served["a"] > 0 and served["b"] > 0
    assert last_backends == {"b"}
    assert metric_sum(metrics, "slmfleet_router_config_reloads_total", result="ok") >= 2
    assert metric_sum(metrics, "slmfleet_router_config_reloads_total", result="invalid") == 0
