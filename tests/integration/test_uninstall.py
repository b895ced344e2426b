"""Uninstalling: with the operator gone, `slmfleet release-finalizers` lets SmallModels and
their namespace be deleted (kopf's finalizer would otherwise hold them forever)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import yaml
from kubernetes import client

from slmfleet.cli.finalizers import FINALIZER
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

EXAMPLE = repo_root() / "manifests" / "examples" / "smallmodel-qwen3-0.6b-t4.yaml"


def test_release_finalizers_after_the_operator_is_gone_lets_a_namespace_go(
    operator_process: OperatorProcess,
    cluster: DevCluster,
    kube: client.ApiClient,
    k8s: Kube,
    gpuclasses: list[str],
) -> None:
    namespace = f"bye-{uuid.uuid4().hex[:8]}"
    k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"] = {"name": "leaving", "namespace": namespace}
    k8s.apply(body)

    def finalizers() -> list[str]:
        obj = k8s.get("SmallModel", "leaving", namespace) or {}
        return list(obj.get("metadata", {}).get("finalizers") or [])

    poll("the operator's finalizer on the model", lambda: FINALIZER in finalizers(), 60)
    operator_process.stop()  # as after `helm uninstall`
    try:
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        proc = subprocess.run(
            [sys.executable, "-m", "slmfleet.cli.main", "release-finalizers"],
            capture_output=True, text=True, env=env, check=False, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f"released SmallModel {namespace}/leaving" in proc.stdout
        assert FINALIZER not in finalizers()
        released = [k8s.get("GPUClass", name) or {} for name in gpuclasses]
        assert all(FINALIZER not in (g["metadata"].get("finalizers") or []) for g in released)
        k8s.delete("Namespace", namespace)
        poll(f"namespace {namespace} gone", lambda: k8s.get("Namespace", namespace) is None, 120)
    finally:
        operator_process.start()
