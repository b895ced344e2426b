"""Zero loss: requests, failures and router retries per phase, at a fixed open-loop rate through
the namespace's router, while one SmallModel goes through a promotion, an automatic rollback, an
abort, an autoscaler scale-down, a scale to zero and back, and an operator restart mid-step.

    python bench/zero_loss.py [--rate 1000] [--out bench/results/zero_loss.md]

Runs on the local dev cluster (control plane, kwok GPU nodes, simulator-backed pods, Prometheus)
with the operator as its own process (so it can be restarted). The scenario is the one of
tests/e2e/test_zero_loss.py (tests/e2e/zero_loss_support.py); the load is open-loop: requests
start at ``--rate`` per second over both router pods whether or not earlier ones answered.
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
from dataclasses import dataclass
from pathlib import Path

from slmfleet.config import settings
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.load import OpenLoop, Tally
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.k8s import Kube

sys.path.insert(0, str(repo_root() / "tests" / "e2e"))  # the scenario the e2e test runs
from zero_loss_support import request_body, router_urls, run_scenario, start

EXAMPLES = repo_root() / "manifests" / "examples"
NODES = (
    FakeGPUNode("gpu-l4-0", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-l4-1", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
)
HOLD_CAP = 20_000
MAX_OUTSTANDING = 2048
RETRIES = re.compile(r"^slmfleet_router_retries_total\{[^}]*\} ([0-9.e+]+)$", re.M)


def _scrape(url: str) -> float | None:
    for _ in range(3):
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return sum(float(v) for v in RETRIES.findall(r.read().decode()))
        except OSError:
            time.sleep(0.5)
    return None


def retries(urls: list[str]) -> float | None:
    """The routers' slmfleet_router_retries_total, summed (None: a router did not answer)."""
    found = [_scrape(url.replace("/v1/chat/completions", "/metrics")) for url in urls]
    return None if None in found else sum(f for f in found if f is not None)


@dataclass(frozen=True)
class Row:
    phase: str
    seconds: float
    tally: Tally
    not_sent: int
    retries: float | None


class Phases:
    """When each phase began and the routers' retry count then."""

    def __init__(self, load: OpenLoop, urls: list[str]) -> None:
        self.load, self.urls = load, urls
        self.marks: list[tuple[str, float, float | None]] = [
            ("start", time.monotonic(), retries(urls))
        ]

    def mark(self, phase: str) -> None:
        self.load.mark(phase)
        self.marks.append((phase, time.monotonic(), retries(self.urls)))

    def rows(self, tallies: dict[str, Tally]) -> list[Row]:
        ends = [*self.marks[1:], ("end", time.monotonic(), retries(self.urls))]
        return [
            Row(
                phase,
                end - began,
                tallies.get(phase, Tally()),
                self.load.not_sent[phase],
                None if after is None or before is None else after - before,
            )
            for (phase, began, before), (_, end, after) in zip(self.marks, ends, strict=True)
        ]


def report(rate: float, rows: list[Row], out: Path) -> str:
    load = os.getloadavg()
    lines = [
        "# Zero loss through promotion, rollback, abort, scale-down, scale to zero and restart",
        "",
        "Produced by `python bench/zero_loss.py --rate N` (see its docstring): the scenario of "
        "`tests/e2e/test_zero_loss.py` at a fixed open-loop rate through both router pods of the "
        f"local dev cluster. Asked rate: {rate:g} requests/s. Machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, shared; load average at the end {load[0]:.1f} / {load[1]:.1f} "
        f"/ {load[2]:.1f} (1/5/15 min).",
        "",
        "Failures are every answer but a 2xx and every request without an answer (by status code "
        "and exception class); retries are the routers' `slmfleet_router_retries_total` over the "
        "phase (attempts moved to another endpoint, not failures). The routers' caps on held and "
        f"concurrent requests are raised to {HOLD_CAP} (defaults 256 and 512): an open loop keeps "
        "sending while the model is at zero, and every such request is held until it is back.",
        "",
        "| phase | seconds | requests | requests/s | failed | outcomes | not sent | router retries |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        tally = row.tally
        outcomes = tally.describe().split("(", 1)[-1].rstrip(")")
        per_second = tally.total / row.seconds if row.seconds > 0 else 0.0
        moved = "?" if row.retries is None else f"{row.retries:.0f}"
        lines.append(
            f"| {row.phase} | {row.seconds:.1f} | {tally.total} | {per_second:.0f} "
            f"| {tally.failed} | {outcomes} | {row.not_sent} | {moved} |"
        )
    requests = sum(r.tally.total for r in rows)
    failed = sum(r.tally.failed for r in rows)
    not_sent = sum(r.not_sent for r in rows)
    lines += [
        "",
        f"Total: {requests} requests, {failed} failed; {not_sent} not sent (skipped by the "
        f"generator while {MAX_OUTSTANDING} were outstanding: the machine fell behind the rate).",
    ]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--out", type=Path, default=repo_root() / "bench/results/zero_loss.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, DevCluster(NODES, workdir=Path(tmp)) as dev:
        env = {
            "HF_HUB_OFFLINE": "1",
            "SLMFLEET_PROMETHEUS_URL": dev.prometheus_url or "",
            "SLMFLEET_PROMETHEUS_SCRAPE_SECONDS": "1",
            # an open loop keeps sending while the model is at zero: the routers hold them all
            "SLMFLEET_ROUTER_MAX_HELD_REQUESTS": str(HOLD_CAP),
            "SLMFLEET_ROUTER_MAX_CONCURRENT_REQUESTS": str(HOLD_CAP),
        }
        os.environ.update(KUBECONFIG=str(dev.kubeconfig), **env)
        settings.cache_clear()
        k8s = Kube(dev.api_client())
        apply_crds(k8s)
        apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
        k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        (Path(tmp) / "logs").mkdir(exist_ok=True)
        operator = OperatorProcess(dev.kubeconfig, Path(tmp) / "logs", env)
        operator.start()
        try:
            body = start(k8s, "bench")
            urls = router_urls(k8s, "bench")
            load = OpenLoop(
                urls, request_body(body), rate=args.rate, max_outstanding=MAX_OUTSTANDING
            ).start()
            phases = Phases(load, urls)
            try:
                run_scenario(k8s, "bench", body, operator, phases.mark)
                phases.mark("tail")
                time.sleep(5.0)  # a few seconds of steady state after the last step
            finally:
                tallies = load.stop()
            rows = phases.rows(tallies)
        finally:
            operator.stop()
    print(report(args.rate, rows, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
