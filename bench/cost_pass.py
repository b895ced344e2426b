"""The cost pass at fleet scale: CPU per pass and status writes, in process with a fake cache.

    python bench/cost_pass.py [--models 1000] [--passes 60] [--out bench/results/cost.md]

Runs ``handlers.cost.account_model`` over N SmallModels every 10 s of simulated time (the
default autoscale interval), writing each patch back into the model's status as the watch would,
in three fleets: idle (no traffic, steady replicas), scaled once (every model's replicas change
after the first minute, then idle), and served (every model's counters grow every pass). Measured:
the CPU time of one pass over the fleet and the status writes per model per minute.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from slmfleet.economics.ledger import Counters
from slmfleet.handlers import cost

T4 = {"spec": {"product": "Tesla-T4", "gpusPerReplica": 1, "pricePerGPUHour": 0.35}}
PLAN = {"weightsGiB": 1.2, "maxNumSeqs": 16, "maxConcurrentSequences": 16, "tensorParallelSize": 1}


class Cache:
    def gpuclass(self, name: str) -> dict[str, Any]:
        return T4

    def pods(self, namespace: str, model: str) -> list[dict[str, Any]]:
        return [{"metadata": {"name": f"{model}-pod"}}]


class Kube:
    def __init__(self) -> None:
        self.writes = 0

    def merge_patch(self, *_: Any) -> None:
        self.writes += 1


def run(fleet: str, models: int, passes: int) -> tuple[float, float]:
    """CPU ms per pass and writes per model per minute after the first pass."""
    cost._ledgers.clear()
    kube = Kube()
    rt: Any = SimpleNamespace(cache=Cache(), kube=kube)
    bodies = [
        {
            "metadata": {"namespace": "bench", "name": f"m{i}", "uid": f"u{i}"},
            "spec": {"gpuClassName": "t4"},
            "status": {"replicas": 1, "plan": PLAN},
        }
        for i in range(models)
    ]
    cpu = 0.0
    for step in range(passes + 1):
        if fleet == "scaled once" and step == 6:
            for body in bodies:
                body["status"]["replicas"] = 2
        served = fleet == "served"
        tokens, requests = (1000.0 * step, float(step)) if served else (0.0, 0.0)
        counters = {
            ("bench", b["metadata"]["name"]): {
                f"{b['metadata']['name']}-pod": Counters(tokens, tokens, requests)
            }
            for b in bodies
        }
        if step == 1:
            kube.writes = 0  # the first pass writes every ledger once
        started = time.process_time()
        for body in bodies:
            written = cost.account_model(rt, body, counters, 1_000_000.0 + 10 * step)
            if written is not None:
                body["status"]["cost"] = written
        if step >= 1:
            cpu += time.process_time() - started
    minutes = passes * 10 / 60
    return cpu / passes * 1000, kube.writes / models / minutes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = [
        (fleet, *run(fleet, args.models, args.passes))
        for fleet in ("idle", "scaled once", "served")
    ]
    lines = [
        "# Cost pass",
        "",
        f"`bench/cost_pass.py --models {args.models} --passes {args.passes}` "
        f"(Python {platform.python_version()}, one core of a shared machine): the cost ledgers of "
        f"{args.models} SmallModels moved every 10 s of simulated time for {args.passes * 10 // 60} "
        "minutes, in process with a fake cache and API.",
        "",
        "| fleet | CPU per pass | status writes per model per minute |",
        "|---|---:|---:|",
        *(f"| {fleet} | {ms:.0f} ms | {writes:.2f} |" for fleet, ms, writes in rows),
        "",
        "idle: no traffic, steady replicas; scaled once: every model's replicas change once after "
        "the first minute; served: every model's token counters grow every pass (a figure moves "
        "at every pass, so writes are held to one a minute by `SLMFLEET_COST_STATUS_SECONDS`). "
        "The idle fleets' one write is the pass that first knows the figures (a minute in), which "
        "for the scaled fleet is the pass that sees the scale. The first pass, which writes every "
        "ledger once, is not counted.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
