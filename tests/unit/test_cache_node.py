"""A ReadWriteOnce weight cache pins the engine's pods to the node its volume is on (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from test_weight_cache_plan import NAME, body, job, observed, plan

from slmfleet.reconcile.cache_node import NODE_FULL, claim_node, node_to_record
from slmfleet.reconcile.smallmodel import DeploymentState
from slmfleet.reconcile.weight_cache import WeightsObserved
from slmfleet.weights.names import CACHE_NODE_ANNOTATION, SELECTED_NODE_ANNOTATION

pytestmark = pytest.mark.unit

RWO = {"accessMode": "ReadWriteOnce"}


def rwo_claim(mode: str = "ReadWriteOnce", **annotations: str) -> dict[str, Any]:
    meta = {"name": NAME, "annotations": annotations}
    return {"metadata": meta, "spec": {"accessModes": [mode]}, "status": {"phase": "Bound"}}


def pod(node: str | None, created: str) -> dict[str, Any]:
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"creationTimestamp": created}, "spec": spec}


SELECTED = {SELECTED_NODE_ANNOTATION: "gpu-a"}
RECORDED = {CACHE_NODE_ANNOTATION: "gpu-b"}
UNKNOWN = {CACHE_NODE_ANNOTATION: ""}


@pytest.mark.parametrize(
    ("annotations", "node"),
    [
        ({}, None),                                  # not known yet
        (SELECTED, "gpu-a"),                         # the scheduler's, for WaitForFirstConsumer
        (RECORDED, "gpu-b"),                         # the download pod's, recorded by the operator
        ({**SELECTED, **RECORDED}, "gpu-a"),         # the scheduler's wins
        (UNKNOWN, ""),                               # looked, could not tell
    ],
)  # fmt: skip
def test_claim_node(annotations: dict[str, str], node: str | None) -> None:
    assert claim_node(rwo_claim(**annotations)) == node


EARLY, LATE = "2026-01-01T11:00:00Z", "2026-01-01T11:05:00Z"


@pytest.mark.parametrize(
    ("claim", "finished", "pods", "record"),
    [
        (rwo_claim("ReadWriteMany"), True, [pod("gpu-a", EARLY)], None),  # shared: no node
        (rwo_claim(**SELECTED), True, [pod("gpu-c", EARLY)], None),       # the scheduler said
        (rwo_claim(), False, [pod("gpu-a", EARLY), pod("gpu-c", LATE)], "gpu-c"),  # latest pod
        (rwo_claim(), False, [pod(None, EARLY)], None),    # not scheduled yet: look again
        (rwo_claim(), True, [], ""),                       # finished, its pods gone: unknown
        (rwo_claim(), False, [], None),
    ],
)  # fmt: skip
def test_node_to_record(
    claim: dict[str, Any], finished: bool, pods: list[dict[str, Any]], record: str | None
) -> None:
    assert node_to_record(claim, job(succeeded=finished), pods) == record


def complete(claim: dict[str, Any]) -> WeightsObserved:
    return WeightsObserved(claim=claim, job=job(succeeded=True))


def deployment_of(p: Any) -> dict[str, Any]:
    return dict(next(o for o in p.apply if o["kind"] == "Deployment"))


def test_engine_pods_of_a_read_write_once_cache_run_on_its_node_only() -> None:
    pinned = plan(body(RWO), observed(complete(rwo_claim(**SELECTED))))
    dep = deployment_of(pinned)
    affinity = dep["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-a"]}]}
    ]
    assert pinned.status["cache"]["node"] == "gpu-a"
    ready = next(c for c in pinned.status["conditions"] if c["type"] == "Ready")
    assert "ReadWriteOnce weight cache" in ready["message"] and "node gpu-a" in ready["message"]
    # Where the volume is is not what the spec asks for: the revision stays the shared cache's.
    shared = deployment_of(plan(body(), observed(complete(rwo_claim("ReadWriteMany")))))
    assert "affinity" not in shared["spec"]["template"]["spec"]
    assert dep["metadata"]["name"] == shared["metadata"]["name"]


def test_the_engine_waits_until_the_node_of_the_cache_is_known() -> None:
    waiting = plan(body(RWO), observed(complete(rwo_claim())))
    assert [o["kind"] for o in waiting.apply] == []
    reconciling = next(c for c in waiting.status["conditions"] if c["type"] == "Reconciling")
    assert "waiting for the node" in reconciling["message"]
    # A node that could not be told pins nothing: the engine starts as with a shared volume.
    unknown = plan(body(RWO), observed(complete(rwo_claim(**UNKNOWN))))
    assert "affinity" not in deployment_of(unknown)["spec"]["template"]["spec"]
    assert "node" not in unknown.status["cache"]


def test_replicas_that_do_not_fit_on_the_cache_node_are_a_warning() -> None:
    b, o = body(RWO), observed(complete(rwo_claim(**RECORDED)))
    revision = deployment_of(plan(b, o))["metadata"]["labels"]["slmfleet.io/revision"]
    b["spec"]["replicas"] = 3
    state = DeploymentState(1, 1, 3, 2, 3, revision, spec_replicas=3)
    full = "0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) didn't match"
    p = plan(b, dataclasses.replace(o, deployment=state, unschedulable=full))
    ready = next(c for c in p.status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == NODE_FULL
    assert "node gpu-b" in ready["message"] and "no room for more" in ready["message"]
    assert any(e.type == "Warning" and e.reason == NODE_FULL for e in p.events)
