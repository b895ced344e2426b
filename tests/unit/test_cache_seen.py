"""A re-listed object that did not change enqueues nothing; changes and deletions do."""

from __future__ import annotations

import pytest

from slmfleet.cache.seen import Inputs, Seen, node_inputs

pytestmark = pytest.mark.unit


def obj(rv: str, uid: str = "u1") -> dict[str, dict[str, str]]:
    return {"metadata": {"uid": uid, "resourceVersion": rv, "name": "m", "namespace": "t"}}


def test_only_new_versions_and_deletions_are_changes() -> None:
    seen = Seen()
    assert seen.changed("SmallModel", obj("1"), None)  # first listing
    assert not seen.changed("SmallModel", obj("1"), None)  # the same object listed again
    assert seen.changed("SmallModel", obj("2"), "MODIFIED")
    assert not seen.changed("SmallModel", obj("2"), "MODIFIED")
    assert seen.changed("Pod", obj("2"), None)  # kinds are apart
    assert seen.changed("SmallModel", obj("2"), "DELETED")
    assert seen.changed("SmallModel", obj("2"), None)  # forgotten with the deletion
    assert seen.changed("SmallModel", obj("1", uid="u2"), None)  # another object
    assert len(seen) == 3


def test_a_status_cost_write_changes_no_plan_input() -> None:
    inputs = Inputs()
    model = {"metadata": {"uid": "u", "resourceVersion": "1", "generation": 1},
             "spec": {"replicas": 1}, "status": {"phase": "Ready"}}  # fmt: skip
    assert inputs.changed(model, "ADDED")
    costed = {**model, "metadata": {**model["metadata"], "resourceVersion": "2"},
              "status": {"phase": "Ready", "cost": {"reason": "NoTraffic"}}}  # fmt: skip
    assert not inputs.changed(costed, "MODIFIED")  # the fleet pass's write: nothing to plan
    scaled = {**costed, "status": {**costed["status"], "autoscaling": {"desiredReplicas": 2}}}
    assert inputs.changed(scaled, "MODIFIED")  # the autoscaler's decision is a plan input
    edited = {**scaled, "spec": {"replicas": 3}}
    assert inputs.changed(edited, "MODIFIED")
    annotated = {**edited, "metadata": {**edited["metadata"], "annotations": {"a": "b"}}}
    assert inputs.changed(annotated, "MODIFIED")  # rollout commands are annotations
    assert inputs.changed(annotated, "DELETED") and len(inputs) == 0


def test_a_node_heartbeat_changes_nothing_a_gpuclass_reads() -> None:
    nodes = Inputs(node_inputs)
    node = {"metadata": {"uid": "n", "name": "gpu-0", "resourceVersion": "1",
                         "labels": {"nvidia.com/gpu.product": "Tesla-T4"}},
            "status": {"allocatable": {"nvidia.com/gpu": "4"},
                       "conditions": [{"type": "Ready", "lastHeartbeatTime": "t1"}]}}  # fmt: skip
    assert nodes.changed(node, "ADDED")
    beat = {**node, "metadata": {**node["metadata"], "resourceVersion": "2"},
            "status": {**node["status"], "conditions": [{"type": "Ready", "lastHeartbeatTime": "t2"}]}}  # fmt: skip
    assert not nodes.changed(beat, "MODIFIED")
    drained = {**beat, "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    assert nodes.changed(drained, "MODIFIED")  # a taint decides where replicas fit
