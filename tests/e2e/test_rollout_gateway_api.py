"""The Gateway API traffic provider on the real Gateway API CRDs: each canary step rewrites the
model's HTTPRoute with weighted backendRefs to per-revision Services, and an abort puts 100% back
on stable. No gateway runs here; what is checked is what a gateway would be told."""

from __future__ import annotations

from typing import Any

import pytest
from rollout_support import ECHO, echo_model, revision_replicas, wait_phase, wait_serving, with_args

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e


def weights(k8s: Kube, namespace: str, name: str) -> list[tuple[str, int]]:
    route = k8s.get("HTTPRoute", name, namespace) or {"spec": {"rules": [{"backendRefs": []}]}}
    refs = route["spec"]["rules"][0]["backendRefs"]
    return [(ref["name"], ref["weight"]) for ref in refs]


def revision_service(k8s: Kube, namespace: str, name: str) -> dict[str, Any]:
    return k8s.get("Service", name, namespace) or {}


def test_gateway_api_canary_steps_rewrite_the_weighted_httproute(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    gateway_api: list[str],
    namespace: str,
) -> None:
    rollout = {
        "steps": [{"weight": 20, "pauseSeconds": 3600}],
        "analysis": "none",
        "trafficProvider": "gateway-api",
        "gatewayRef": {"name": "inference", "namespace": "gateways"},
    }
    body = echo_model(namespace, "gw", rollout)
    k8s.apply(body)
    first = wait_serving(k8s, "gw", namespace)["status"]["templateHash"]
    stable_svc, route = f"gw-{first}", "gw"
    assert poll("route to stable", lambda: weights(k8s, namespace, route) == [(stable_svc, 100)])
    parent = (k8s.get("HTTPRoute", route, namespace) or {})["spec"]["parentRefs"][0]
    assert (parent["name"], parent["namespace"]) == ("inference", "gateways")

    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    canary = wait_phase(k8s, "gw", namespace, ("Paused",))["canaryRevision"]
    canary_svc = f"gw-{canary}"
    assert poll(
        "route split 80/20",
        lambda: weights(k8s, namespace, route) == [(stable_svc, 80), (canary_svc, 20)],
    )
    # each backendRef selects exactly one revision's pods
    selector = revision_service(k8s, namespace, canary_svc)["spec"]["selector"]
    assert selector["slmfleet.io/revision"] == canary
    assert revision_replicas(k8s, "gw", namespace) == {first: 2, canary: 1}  # ceil 1.6, ceil 0.4

    k8s.merge_patch("SmallModel", "gw", {"metadata": {"annotations": {"slmfleet.io/abort": "true"}}},
                    namespace)  # fmt: skip
    wait_phase(k8s, "gw", namespace, ("RolledBack",))
    assert poll(
        "route back on stable",
        lambda: weights(k8s, namespace, route) == [(stable_svc, 100), (canary_svc, 0)],
    )
    assert poll("canary scaled to 0", lambda: revision_replicas(k8s, "gw", namespace)[canary] == 0)
