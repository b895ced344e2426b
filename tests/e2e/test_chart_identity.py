"""The operator as the chart installs it: its ServiceAccount's token, its RBAC, its settings.

`helm template` (the real Helm) renders the chart; its ServiceAccount and roles are applied; the
operator process authenticates with a token of that ServiceAccount (TokenRequest) and reads its
settings from the rendered Deployment's env. A SmallModel then serves through a ModelRoute and
the router. A verb the chart lacks shows as a 403 in the operator's log (and a model that never
gets Ready); both modes, cluster-wide and watchNamespaces, run. The session's own operator is
stopped meanwhile, so only the chart's identity acts.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from slmfleet.devcluster import tools
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

CHART = repo_root() / "charts" / "slmfleet"
EXAMPLE = repo_root() / "manifests" / "examples" / "smallmodel-qwen3-0.6b-t4.yaml"


def _render(release: str, namespace: str, *values: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(tools.require("helm")), "template", release, str(CHART), "--namespace", namespace,
         *values],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _token_kubeconfig(cluster: DevCluster, api: client.ApiClient, account: str, ns: str) -> Path:
    """A kubeconfig whose user is a TokenRequest token of the chart's ServiceAccount."""
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"expirationSeconds": 3600}}  # fmt: skip
    answer = client.CoreV1Api(api).create_namespaced_service_account_token(account, ns, request)
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": answer.status.token}
    path = cluster.workdir / f"kubeconfig-{account}-{uuid.uuid4().hex[:6]}"
    path.write_text(yaml.safe_dump(config))
    return path


def _settings(deployment: dict[str, Any], namespace: str, cluster: DevCluster) -> dict[str, str]:
    """The rendered container env, with the cluster's Prometheus (the chart's value is empty)."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: str(e["value"]) for e in container["env"] if "value" in e}
    env["SLMFLEET_OPERATOR_NAMESPACE"] = namespace  # the downward API's metadata.namespace
    env["SLMFLEET_PROMETHEUS_URL"] = cluster.prometheus_url or ""
    env["HF_HOME"] = str(cluster.workdir / "hf-chart")
    env["HF_HUB_OFFLINE"] = "1"
    return env


@pytest.fixture
def session_operator_paused(operator_process: OperatorProcess) -> Iterator[None]:
    operator_process.stop()
    try:
        yield
    finally:
        operator_process.start()


def _serve_a_model(k8s: Kube, namespace: str) -> None:
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"] = {"name": "chat", "namespace": namespace}
    body["spec"]["engine"] = {"extraArgs": ["--mode", "echo"]}
    k8s.apply(body)
    route = {"apiVersion": "slmfleet.io/v1alpha1", "kind": "ModelRoute",
             "metadata": {"name": "front", "namespace": namespace},
             "spec": {"backends": [{"name": "chat", "smallModelRef": {"name": "chat"}}]}}  # fmt: skip
    k8s.apply(route)

    def ready(kind: str, name: str) -> bool:
        obj = k8s.get(kind, name, namespace) or {}
        conds = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    poll("SmallModel chat Ready", lambda: ready("SmallModel", "chat"), 120)
    poll("ModelRoute front Ready", lambda: ready("ModelRoute", "front"), 120)
    router = poll(
        "router ready",
        lambda: (
            (k8s.get("Deployment", "slmfleet-router", namespace) or {})
            .get("status", {})
            .get("readyReplicas")
        ),
        120,
    )
    assert router >= 1
    assert k8s.get("NetworkPolicy", "chat-engine", namespace) is not None  # chart default on


@pytest.mark.parametrize("mode", ["cluster-wide", "watchNamespaces"])
def test_the_operator_runs_with_the_charts_identity_and_settings(
    mode: str,
    cluster: DevCluster,
    kube: client.ApiClient,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    session_operator_paused: None,
) -> None:
    release = f"id-{uuid.uuid4().hex[:6]}"
    home = f"{release}-system"
    values = ["--set", f"watchNamespaces={{{namespace}}}"] if mode == "watchNamespaces" else []
    docs = _render(release, home, *values)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    account = next(d for d in docs if d["kind"] == "ServiceAccount")["metadata"]["name"]
    k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": home}})
    rbac = [d for d in docs if d["kind"] not in {"Deployment", "CustomResourceDefinition"}]
    for doc in rbac:
        k8s.apply(doc)
    scope = [a for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
             if a == "--all-namespaces" or a.startswith("--namespace=")]  # fmt: skip
    process = OperatorProcess(
        _token_kubeconfig(cluster, kube, account, home),
        cluster.workdir / "logs",
        _settings(deployment, home, cluster),
        scope,
    )
    process.start()
    try:
        _serve_a_model(k8s, namespace)
        process.check()
    finally:
        process.stop()
        for doc in reversed(rbac):
            k8s.delete(doc["kind"], doc["metadata"]["name"], doc["metadata"].get("namespace"))
        k8s.delete("Namespace", home)
    log = (cluster.workdir / "logs" / f"operator-{process.starts}.log").read_text()
    forbidden = [
        line
        for line in log.splitlines()
        if "(403)" in line or '"code":403' in line or "forbidden" in line.lower()
    ]
    assert forbidden == [], "\n".join(forbidden[:10])
