"""The slow canary's waiting queue: what one simulator with the zero-loss scenario's slow canary
settings answers at that canary's share of the bench's load, with the simulator's own queue cap
and with the local cluster's (as long as vLLM's, which has no cap).

    python bench/sim_queue.py [--rate 125] [--seconds 40] [--out bench/results/sim_queue.md]

The simulator is started with the arguments the pod backer gives the scenario's slow canary
(``sim_args`` of its vLLM arguments: 64 sequences, echo, 800 ms to the first token), once with
``--max-waiting-queue-length 1000`` (the simulator's default, what the local cluster passed
before) and once as the local cluster starts it now. An open loop sends ``--rate`` requests/s
(half of 250, the canary's 50% step) for ``--seconds`` (the rollback phase of the slowest
earlier zero-loss run); every answer is counted by status, the simulator's
``vllm:num_requests_waiting`` is sampled twice a second, and the backlog's end is timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from slmfleet.devcluster import tools
from slmfleet.devcluster.backing import SIM_WAITING_QUEUE_LENGTH, sim_args
from slmfleet.devcluster.load import OpenLoop, Tally
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.processes import ManagedProcess, free_port, wait_until

# The scenario's slow canary (tests/e2e/zero_loss_support.py): the example's 64 sequences, echo.
CANARY = ["serve", "Qwen/Qwen3-0.6B", "--max-num-seqs", "64", "--mode=echo",
          "--time-to-first-token=800ms"]  # fmt: skip
SIM_DEFAULT_QUEUE = 1000
WAITING = re.compile(r"^vllm:num_requests_waiting\{[^}]*\} ([0-9.e+]+)$", re.M)
BODY = {"model": "Qwen/Qwen3-0.6B", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4}  # fmt: skip


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return None


def run_one(queue: int, rate: float, seconds: float, work: Path) -> tuple[Tally, int, float, int]:
    """(outcomes, not sent, seconds the backlog took after the last start, most waiting)."""
    port = free_port()
    argv = [str(tools.require("llm-d-inference-sim")), *sim_args(CANARY), "--port", str(port)]
    at = argv.index("--max-waiting-queue-length")
    argv[at + 1] = str(queue)
    base = f"http://127.0.0.1:{port}"
    sim = ManagedProcess(f"sim-{queue}", argv, work / f"sim-{queue}.log").start()
    try:
        wait_until("the simulator", lambda: _get(f"{base}/health") is not None, 30, sim)
        load = OpenLoop([f"{base}/v1/chat/completions"], BODY, rate=rate,
                        max_outstanding=50_000, timeout=300)  # fmt: skip
        load.start()
        most, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            text = _get(f"{base}/metrics") or ""
            most = max([most, *(int(float(v)) for v in WAITING.findall(text))])
            time.sleep(0.5)
        stopped = time.monotonic()
        tally = load.stop().get("start", Tally())
        return tally, sum(load.not_sent.values()), time.monotonic() - stopped, most
    finally:
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=125.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long the load runs")
    parser.add_argument("--out", type=Path, default=repo_root() / "bench/results/sim_queue.md")
    args = parser.parse_args(argv)
    lines = [
        "# The slow canary's waiting queue in the local cluster's simulator",
        "",
        f"Produced by `python bench/sim_queue.py --rate {args.rate:g} --seconds "
        f"{args.seconds:g}` (see its docstring): one simulator with the zero-loss scenario's "
        "slow canary settings (64 sequences, 800 ms to the first token), open-loop load.",
        "",
        "| waiting queue | requests | failed | outcomes | not sent | most waiting "
        "| backlog done after (s) |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for queue, label in ((SIM_DEFAULT_QUEUE, "1000 (simulator default)"),
                             (SIM_WAITING_QUEUE_LENGTH, f"{SIM_WAITING_QUEUE_LENGTH} (local cluster)")):  # fmt: skip
            tally, not_sent, backlog, most = run_one(queue, args.rate, args.seconds, Path(tmp))
            outcomes = tally.describe().split("(", 1)[-1].rstrip(")")
            lines.append(
                f"| {label} | {tally.total} | {tally.failed} | {outcomes} | {not_sent} "
                f"| {most} | {backlog:.1f} |"
            )
    load = os.getloadavg()
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, shared; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min). vLLM queues every request "
        "it cannot run yet, with no cap: the local cluster's row is the one that behaves like it.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
