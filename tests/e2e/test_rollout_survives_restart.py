"""The operator restarted in the middle of a canary step resumes that step once, never twice.

It restarts the session's operator, so it lives in its own module, run after the other e2e tests.
"""

from __future__ import annotations

import pytest
from rollout_support import (
    ECHO,
    Restartable,
    echo_model,
    events,
    rollout_of,
    wait_phase,
    wait_serving,
    with_args,
)

from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e


def test_operator_restarted_mid_step_resumes_the_same_step_once(
    operator_process: Restartable, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 50, "pauseSeconds": 15}], "analysis": "none"}
    body = echo_model(namespace, "resume", rollout)
    k8s.apply(body)
    wait_serving(k8s, "resume", namespace)
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    before = wait_phase(k8s, "resume", namespace, ("Paused",), timeout=90)

    operator_process.restart()
    during = rollout_of(k8s, "resume", namespace)
    assert during["step"] == 0 and during["stepStartedAt"] == before["stepStartedAt"]
    obj = wait_serving(k8s, "resume", namespace, timeout=120)
    assert obj["status"]["rollout"]["stableRevision"] == before["canaryRevision"]
    counted = [e for e in events(k8s, "resume", namespace) if e["reason"] == "RolloutStarted"]
    assert sum(int(e.get("count") or 1) for e in counted) == 1  # the step was not begun again
    assert sum(int(e.get("count") or 1) for e in events(k8s, "resume", namespace)
               if e["reason"] == "Promoting") == 1  # fmt: skip
