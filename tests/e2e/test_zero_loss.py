"""No request fails through the router while revisions come and go: closed-loop load through both
router pods across a promotion, an automatic rollback, an abort, an autoscaler scale-down, a
scale to zero and back (requests held, then served) and an operator restart mid-step.

Every outcome is counted by status code and exception class, per phase. It restarts the
session's operator, so it lives in its own module.
"""

from __future__ import annotations

import pytest
from rollout_support import Restartable, reasons
from zero_loss_support import NAME, PHASES, request_body, router_urls, run_scenario, start

from slmfleet.devcluster.load import ClosedLoop, Tally, describe
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

MIN_REQUESTS = 20_000
CONCURRENCY = 4  # per router pod


def merged(loops: list[ClosedLoop]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for loop in loops:
        for phase, tally in loop.tallies().items():
            into = out.setdefault(phase, Tally())
            into.statuses.update(tally.statuses)
            into.exceptions.update(tally.exceptions)
    return out


def total(loops: list[ClosedLoop]) -> int:
    return sum(t.total for t in merged(loops).values())


def test_no_request_fails_across_rollouts_scaling_and_a_restart(
    operator_process: Restartable, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = start(k8s, namespace)
    urls = router_urls(k8s, namespace)
    loops = [ClosedLoop(u, request_body(body), concurrency=CONCURRENCY).start() for u in urls]
    try:

        def mark(phase: str) -> None:
            if phase == "restart":  # the held requests end the scale-up; wait for fresh ones
                poll(
                    "a request sent after the scale-up answered",
                    lambda: merged(loops).get("scale-up", Tally()).total > 0,
                    timeout=120,
                )
            for loop in loops:
                loop.mark(phase)

        run_scenario(k8s, namespace, body, operator_process, mark)
        mark("tail")
        poll(f"{MIN_REQUESTS} requests", lambda: total(loops) >= MIN_REQUESTS, timeout=600)
    finally:
        for loop in loops:
            loop.stop()
    tallies = merged(loops)
    print(describe(tallies))
    assert sum(t.failed for t in tallies.values()) == 0, describe(tallies)
    assert sum(t.total for t in tallies.values()) >= MIN_REQUESTS
    assert all(tallies[p].total > 0 for p in PHASES), describe(tallies)  # load in every phase
    # the leaving revisions drained through the plan, not by luck
    assert {"Draining", "Drained"} <= reasons(k8s, NAME, namespace)
