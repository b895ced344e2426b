"""What the caches keep: the fields the operator reads, in the API's shape, and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slmfleet.cache import slim
from slmfleet.handlers.observe import engine_deployments, unschedulable_message
from slmfleet.reconcile.endpoints import pod_ready, ready_endpoints, ready_pod_endpoints

pytestmark = pytest.mark.unit

MANAGED_FIELDS = [
    {"manager": "kube-controller-manager", "fieldsV1": {"f:status": {"x" * 50: {}}}}
] * 20


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "team",
        "uid": f"uid-{name}",
        "generation": 3,
        "resourceVersion": "42",
        "labels": {"slmfleet.io/model": "m", "slmfleet.io/revision": "r1", "team": "x"},
        "annotations": {
            "slmfleet.io/promote": "true",
            "slmfleet.io/applied-hash": "abc",
            "kubectl.kubernetes.io/last-applied-configuration": "{...}" * 500,
            "slmfleet.io/last-handled-configuration": "{...}" * 500,
        },
        "managedFields": MANAGED_FIELDS,
        "ownerReferences": [
            {
                "kind": "SmallModel",
                "name": "m",
                "uid": "uid-m",
                "controller": True,
                "apiVersion": "v",
            }
        ],
        **extra,
    }


def test_a_slim_deployment_keeps_what_readiness_and_ownership_need() -> None:
    dep = {
        "metadata": _meta("m-r1"),
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"args": ["x"] * 200}]}}},
        "status": {
            "observedGeneration": 3,
            "replicas": 2,
            "readyReplicas": 1,
            "updatedReplicas": 2,
            "conditions": [{}] * 5,
        },
    }
    s = slim.deployment(dep)
    assert s["spec"] == {"replicas": 2}
    assert s["metadata"]["annotations"] == {
        "slmfleet.io/promote": "true",
        "slmfleet.io/applied-hash": "abc",
    }
    assert "team" not in s["metadata"]["labels"]
    assert engine_deployments([s], "uid-m") == engine_deployments([dep], "uid-m")
    assert len(json.dumps(s)) * 10 < len(json.dumps(dep))


def test_a_slim_pod_keeps_readiness_address_port_and_scheduling() -> None:
    pod = {
        "metadata": _meta("m-r1-abc"),
        "spec": {
            "containers": [
                {
                    "name": "vllm",
                    "ports": [{"name": "http", "containerPort": 8000}],
                    "args": ["x"] * 100,
                }
            ]
        },
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.7",
            "conditions": [
                {"type": "Ready", "status": "True"},
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes",
                },
                {"type": "ContainersReady", "status": "True"},
            ],
            "containerStatuses": [{"image": "x" * 300}],
        },
    }
    s = slim.pod(pod)
    assert pod_ready(s) and ready_pod_endpoints([s]) == ready_pod_endpoints([pod])
    assert unschedulable_message([s]) == "0/3 nodes"
    assert "containerStatuses" not in s["status"]


def test_a_slim_endpoint_slice_gives_the_same_endpoints() -> None:
    meta = _meta("m-abc")
    meta["labels"]["kubernetes.io/service-name"] = "m"
    item = {
        "metadata": meta,
        "ports": [{"name": "http", "port": 8000, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": ["10.0.0.7"],
                "conditions": {"ready": True, "serving": True},
                "targetRef": {"kind": "Pod"},
            },
            {"addresses": ["10.0.0.8"], "conditions": {"ready": False}},
        ],
    }
    assert (
        ready_endpoints([slim.endpoint_slice(item)])
        == ready_endpoints([item])
        == {"m": ("10.0.0.7:8000",)}
    )


def test_a_slim_custom_resource_drops_kopf_and_kubectl_bookkeeping() -> None:
    body = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "metadata": _meta("m"),
        "spec": {"a": 1},
        "status": {"b": 2},
    }
    s = slim.custom_resource(body)
    assert s["spec"] == {"a": 1} and s["status"] == {"b": 2}
    assert set(s["metadata"]["annotations"]) == {"slmfleet.io/promote", "slmfleet.io/applied-hash"}
    assert "managedFields" not in s["metadata"]
    assert (s["apiVersion"], s["kind"], s["metadata"]["uid"]) == (
        "slmfleet.io/v1alpha1",
        "SmallModel",
        "uid-m",
    )
