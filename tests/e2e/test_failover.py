"""Two operator replicas with leader election: one acts; kill it mid-rollout and the other takes
the Lease over and continues the same step (within 30 s of the kill)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from rollout_support import assert_resumed_once, paused_canary
from test_chart_identity import session_operator_paused  # noqa: F401 - a fixture

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube
from slmfleet.leader import LEASE_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def _replica(cluster: DevCluster, name: str, namespace: str) -> OperatorProcess:
    env = {
        "HF_HUB_OFFLINE": "1",
        "SLMFLEET_PROMETHEUS_URL": cluster.prometheus_url or "",
        "SLMFLEET_PROMETHEUS_SCRAPE_SECONDS": "1",
        "SLMFLEET_LEADER_ELECTION": "true",
        "SLMFLEET_OPERATOR_NAMESPACE": namespace,
        "SLMFLEET_POD_NAME": name,
    }
    logs = cluster.workdir / "logs" / f"{namespace}-{name}"
    logs.mkdir(parents=True, exist_ok=True)
    return OperatorProcess(cluster.kubeconfig, Path(logs), env)


def _holder(k8s: Kube, namespace: str) -> str:
    lease = k8s.get("Lease", LEASE_NAME, namespace) or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


@pytest.mark.usefixtures("session_operator_paused")
def test_killing_the_leader_mid_rollout_hands_the_step_to_the_standby(
    cluster: DevCluster, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    first, second = _replica(cluster, "first", namespace), _replica(cluster, "second", namespace)
    first.start()
    poll("first leads", lambda: _holder(k8s, namespace) == "first", 30)
    second.start()  # a standby: answers liveness, handles nothing
    try:
        before = paused_canary(k8s, namespace, "ha", pause=20)
        assert _holder(k8s, namespace) == "first"
        assert first.process is not None
        os.kill(first.process.popen.pid, signal.SIGKILL)  # no goodbye: the Lease must expire
        poll("second takes the Lease over", lambda: _holder(k8s, namespace) == "second", 30)
        assert_resumed_once(k8s, namespace, "ha", before)
    finally:
        second.stop()
        first.stop()
