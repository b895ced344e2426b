"""The operator restarted in the middle of a canary step resumes that step once, never twice.

It restarts the session's operator, so it lives in its own module, run after the other e2e tests.
"""

from __future__ import annotations

import pytest
from rollout_support import Restartable, assert_resumed_once, paused_canary

from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e


def test_operator_restarted_mid_step_resumes_the_same_step_once(
    operator_process: Restartable, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    before = paused_canary(k8s, namespace, "resume", pause=15)
    operator_process.restart()
    assert_resumed_once(k8s, namespace, "resume", before)
