"""Uninstalling: the operator puts no finalizer on models, so with it gone a namespace of models
is deleted at once; a finalizer left by an earlier version is removed by the operator, or, with
the operator gone, by `slmfleet release-finalizers`."""

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


def _model(k8s: Kube, namespace: str, name: str) -> None:
    k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    k8s.apply(body)


def _finalizers(k8s: Kube, namespace: str, name: str) -> list[str]:
    obj = k8s.get("SmallModel", name, namespace) or {}
    return list(obj.get("metadata", {}).get("finalizers") or [])


def _handled(k8s: Kube, namespace: str, name: str) -> bool:
    obj = k8s.get("SmallModel", name, namespace) or {}
    return bool((obj.get("status") or {}).get("observedGeneration"))


def _gone(k8s: Kube, namespace: str) -> None:
    k8s.delete("Namespace", namespace)
    poll(f"namespace {namespace} gone", lambda: k8s.get("Namespace", namespace) is None, 120)


def test_the_operator_leaves_no_finalizer_and_removes_an_old_one(
    operator_process: OperatorProcess, k8s: Kube, gpuclasses: list[str]
) -> None:
    namespace = f"bye-{uuid.uuid4().hex[:8]}"
    _model(k8s, namespace, "plain")
    _model(k8s, namespace, "upgraded")
    patch = {"metadata": {"finalizers": [FINALIZER]}}  # as a version with kopf timers left it
    k8s.merge_patch("SmallModel", "upgraded", patch, namespace)
    poll("the model handled", lambda: _handled(k8s, namespace, "plain"), 60)
    poll("the old finalizer removed", lambda: not _finalizers(k8s, namespace, "upgraded"), 60)
    assert _finalizers(k8s, namespace, "plain") == []
    operator_process.stop()  # as after `helm uninstall`
    try:
        _gone(k8s, namespace)  # nothing holds the models: the namespace goes without the operator
    finally:
        operator_process.start()


def test_release_finalizers_after_the_operator_is_gone_lets_a_namespace_go(
    operator_process: OperatorProcess,
    cluster: DevCluster,
    kube: client.ApiClient,
    k8s: Kube,
    gpuclasses: list[str],
) -> None:
    namespace = f"bye-{uuid.uuid4().hex[:8]}"
    operator_process.stop()  # uninstalled before it could handle an upgraded release's models
    try:
        _model(k8s, namespace, "leaving")
        patch = {"metadata": {"finalizers": [FINALIZER]}}
        k8s.merge_patch("SmallModel", "leaving", patch, namespace)
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        proc = subprocess.run(
            [sys.executable, "-m", "slmfleet.cli.main", "release-finalizers"],
            capture_output=True, text=True, env=env, check=False, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f"released SmallModel {namespace}/leaving" in proc.stdout
        assert FINALIZER not in _finalizers(k8s, namespace, "leaving")
        _gone(k8s, namespace)
    finally:
        operator_process.start()
