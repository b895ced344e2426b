"""Router added latency and throughput: direct to the simulator, through slmfleet's router, and
through the Rust `vllm-router` (PyPI), in one run on the same simulator and the same cores.

    python bench/router_latency.py [--rate 500] [--seconds 10] [--out bench/results/router.md]

One llm-d-inference-sim (echo mode, no simulated token delay) serves every path. Each router
is pinned to the same core (`taskset`), the simulator and the load generator share the other.
Latency: an open-loop load at `--rate` requests per second (sends are scheduled, not waiting for
answers), each request timed from its send to its complete body. Added latency is the router's
percentile minus the direct percentile. Throughput: a closed loop of `--concurrency` clients for
`--seconds`. Results are written as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

NOTES_MARKER = "<!-- notes: kept across runs -->"
BODY = {"model": "bench", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}


# The same router on uvloop's event loop (measured only when uvloop is importable).
UVLOOP_MAIN = (
    "import sys, uvloop; uvloop.install(); "
    "from slmfleet.router.__main__ import main; main(sys.argv[1:])"
)


def uvloop_available() -> bool:
    probe = [sys.executable, "-c", "import uvloop"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: str, argv: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", core, *argv] if taskset else argv


def wait_ok(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {seconds}s")


@contextmanager
def process(argv: list[str], health: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ok(health, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Result:
    name: str
    p50_ms: float
    p99_ms: float
    errors: int
    sent: int
    throughput_rps: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Send at a fixed rate regardless of answers; latencies (s) of the successful requests."""
    latencies: list[float] = []
    errors = 0
    payload = json.dumps(BODY).encode()
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal errors
            start = time.perf_counter()
            try:
                async with session.post(url, data=payload, headers=headers) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

        tasks = []
        begin = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


async def closed_loop(url: str, concurrency: int, seconds: float) -> float:
    """Requests per second that `concurrency` back-to-back clients complete."""
    done = 0
    payload = json.dumps(BODY).encode()
    headers = {"Content-Type": "application/json"}
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url, data=payload, headers=headers) as resp:
                    await resp.read()
                    done += resp.status == 200

        begin = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
    return done / (time.perf_counter() - begin)


def measure(name: str, base: str, args: argparse.Namespace) -> Result:
    url = f"{base}/v1/chat/completions"
    asyncio.run(open_loop(url, args.rate, 1.0))  # warm connections and caches
    latencies, errors = asyncio.run(open_loop(url, args.rate, args.seconds))
    rps = asyncio.run(closed_loop(url, args.concurrency, args.seconds))
    return Result(
        name=name,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=errors,
        sent=int(args.rate * args.seconds),
        throughput_rps=rps,
    )


def router_config(sim_port: int) -> str:
    backend = {"name": "sim", "model": "bench", "endpoints": [f"127.0.0.1:{sim_port}"]}
    return json.dumps({"routes": [{"name": "bench", "backends": [backend]}]})


def report(results: list[Result], args: argparse.Namespace) -> str:
    direct = results[0]
    lines = [
        "# Router latency and throughput",
        "",
        f"Generated by `python bench/router_latency.py --rate {args.rate:g} --seconds "
        f"{args.seconds:g} --concurrency {args.concurrency}` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. One llm-d-inference-sim "
        "in echo mode with no token delay; routers pinned to CPU 0, simulator and load "
        "generator on CPU 1.",
        "",
        "| Path | p50 ms | p99 ms | added p50 ms | added p99 ms | errors | throughput rps |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.p50_ms - direct.p50_ms:.2f} | "
            f"{r.p99_ms - direct.p99_ms:.2f} | {r.errors}/{r.sent} | {r.throughput_rps:.0f} |"
        )
    by_name = {r.name: r for r in results}
    rust = by_name.get("vllm-router (Rust)")
    ours_paths = [r for r in results if r.name.startswith("slmfleet")] if rust else []
    for ours in ours_paths:
        assert rust is not None
        lines += [
            "",
            f"Ratios {ours.name} / vllm-router: "
            f"added p50 {_ratio(ours.p50_ms - direct.p50_ms, rust.p50_ms - direct.p50_ms)}, "
            f"added p99 {_ratio(ours.p99_ms - direct.p99_ms, rust.p99_ms - direct.p99_ms)}, "
            f"throughput {_ratio(ours.throughput_rps, rust.throughput_rps)}.",
        ]
    return "\n".join(lines) + "\n"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop requests/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop clients")
    parser.add_argument("--sim", default=None, help="llm-d-inference-sim binary")
    parser.add_argument("--out", type=Path, default=Path("bench/results/router.md"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the load generator stays off the routers' core
    sim = args.sim or shutil.which("llm-d-inference-sim")
    if sim is None:
        from slmfleet.devcluster import tools

        sim = str(tools.require("llm-d-inference-sim"))
    vllm_router = shutil.which("vllm-router") or str(Path(sys.executable).with_name("vllm-router"))
    work = Path(tempfile.mkdtemp(prefix="router-bench-"))
    sim_port, ours_port, rust_port = free_port(), free_port(), free_port()
    config = work / "router.json"
    config.write_text(router_config(sim_port))
    sim_argv = [sim, "--model", "bench", "--port", str(sim_port), "--mode", "echo",
                "--force-dummy-tokenizer", "--max-num-seqs", "1024"]  # fmt: skip
    ours_argv = [sys.executable, "-m", "slmfleet.router", "--config", str(config),
                 "--host", "127.0.0.1", "--port", str(ours_port), "--log-level", "WARNING"]  # fmt: skip
    rust_argv = [vllm_router, "--worker-urls", f"http://127.0.0.1:{sim_port}", "--host",
                 "127.0.0.1", "--port", str(rust_port), "--policy", "round_robin",
                 "--log-level", "warning"]  # fmt: skip
    results = []
    uvloop_argv = [sys.executable, "-c", UVLOOP_MAIN, *ours_argv[3:]]
    with process(pinned("1", sim_argv), f"http://127.0.0.1:{sim_port}/health", work / "sim.log"):
        results.append(measure("direct to simulator", f"http://127.0.0.1:{sim_port}", args))
        health = f"http://127.0.0.1:{ours_port}/health"
        with process(pinned("0", ours_argv), health, work / "slmfleet.log"):
            results.append(measure("slmfleet router", f"http://127.0.0.1:{ours_port}", args))
        if uvloop_available():
            health = f"http://127.0.0.1:{ours_port}/health"
            with process(pinned("0", uvloop_argv), health, work / "slmfleet-uvloop.log"):
                name = "slmfleet router + uvloop"
                results.append(measure(name, f"http://127.0.0.1:{ours_port}", args))
        if Path(vllm_router).exists():
            health = f"http://127.0.0.1:{rust_port}/health"
            with process(pinned("0", rust_argv), health, work / "vllm-router.log"):
                results.append(measure("vllm-router (Rust)", f"http://127.0.0.1:{rust_port}", args))
    text = report(results, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():  # hand-written analysis below the marker survives a re-run
        old = args.out.read_text()
        if NOTES_MARKER in old:
            text += "\n" + old[old.index(NOTES_MARKER) :]
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
