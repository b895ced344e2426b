"""Pod Security Standard `restricted`, enforced by the real API server's PodSecurity admission.

A namespace labelled `pod-security.kubernetes.io/enforce=restricted` admits the engine pods of a
SmallModel and the router's pods, and a request through the router is answered; a SmallModel that
asks for root (engine.securityContext.runAsUser 0) is refused there, so the enforcement is real.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from test_modelroute import chat, health, modelroute, ref, route_ready, send, smallmodel

from slmfleet.builders import router
from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.network_policy import Peers, engine_network_policy
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


@pytest.fixture
def restricted(kube: client.ApiClient) -> Iterator[str]:
    namespace = f"psa-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": namespace, "labels": RESTRICTED}})
    try:
        yield namespace
    finally:
        core.delete_namespace(namespace)


def _refusals(k8s: Kube, namespace: str) -> list[str]:
    """Messages of pod creations the admission refused (the ReplicaSet controller's Events)."""
    return [
        str(e.get("message"))
        for e in k8s.list("Event", namespace)
        if e.get("reason") == "FailedCreate" and "PodSecurity" in str(e.get("message"))
    ]


def test_a_restricted_namespace_admits_and_serves_a_model_and_the_router(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], restricted: str
) -> None:
    namespace = restricted
    k8s.apply(smallmodel("qwen", namespace, "qwen-served"))
    k8s.apply(modelroute("chat", namespace, backends=[ref("qwen", "qwen")]))
    poll("ModelRoute chat Ready", lambda: route_ready(k8s, namespace, "chat"), 150)
    ips = poll(
        "both router pods serving",
        lambda: (
            found
            if len(found := [ip for ip in router_ips(k8s, namespace) if health(ip).get("routes")])
            == 2
            else None
        ),
        120,
    )
    results = asyncio.run(send([f"http://{ip}:8080" for ip in ips], [(chat("chat", "hi"), {})]))
    assert [(s, b, t) for s, b, t, _ in results] == [(200, "qwen", "hi")]
    assert _refusals(k8s, namespace) == []
    pods = k8s.list("Pod", namespace)
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods} >= {
        "engine",
        "router",
    }
    for pod in pods:
        assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["spec"].get("automountServiceAccountToken") is False


def test_a_root_engine_is_refused_by_the_restricted_namespace(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], restricted: str
) -> None:
    namespace = restricted
    body: dict[str, Any] = smallmodel("rooted", namespace, "rooted")
    body["spec"]["engine"]["securityContext"] = {"runAsUser": 0}
    k8s.apply(body)
    refused = poll("the ReplicaSet's pod refused", lambda: _refusals(k8s, namespace) or None, 120)
    assert any("runAsNonRoot" in m or "runAsUser" in m for m in refused), refused
    assert k8s.list("Pod", namespace, "slmfleet.io/model=rooted") == []


def test_the_network_policies_are_valid_for_the_api_server(k8s: Kube, restricted: str) -> None:
    """What the operator emits with networkPolicy.enabled passes the server's validation."""
    peers = Peers({"namespaceSelector": {}, "podSelector": {}}, "slmfleet-system")
    ref = ModelRef("qwen", restricted, "00000000-0000-0000-0000-000000000001")
    for policy in (
        engine_network_policy(ref, router.router_selector(), peers),
        router.network_policy(restricted, []),
    ):
        policy["metadata"].pop("ownerReferences", None)  # no real owner in this test
        applied = k8s.apply(policy)
        assert applied["spec"]["ingress"] == policy["spec"]["ingress"]
