"""Apply only what changed; Events rate-limited per object."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from slmfleet.cache import slim
from slmfleet.handlers.apply import Applier, with_hash
from slmfleet.handlers.events import BURST, WINDOW_SECONDS, EventPoster, event_body
from slmfleet.ownership import NameConflictError

pytestmark = pytest.mark.unit


class RecordingKube:
    def __init__(self, existing: dict[str, Any] | None = None) -> None:
        self.applied: list[dict[str, Any]] = []
        self.existing = existing
        self.reads = 0

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.reads += 1
        return self.existing

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        return obj


def deployment(replicas: int = 1, image: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m-r1", "namespace": "team"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": image}]}}},
    }


def test_a_watched_object_is_applied_unless_the_cache_shows_it_as_planned() -> None:
    kube = RecordingKube()
    applier = Applier(kube)  # type: ignore[arg-type]
    assert applier.apply(deployment(), None, watched=True)  # missing: applied
    cached = slim.deployment(kube.applied[-1])  # what the watch brings back
    assert not applier.apply(deployment(), cached, watched=True)
    assert applier.apply(deployment(replicas=2), cached, watched=True)  # replicas changed
    assert applier.apply(deployment(image="b"), cached, watched=True)  # template changed
    scaled = {**cached, "spec": {"replicas": 5}}  # someone scaled it by hand: repaired
    assert applier.apply(deployment(), scaled, watched=True)
    assert not applier.apply(deployment(), cached, watched=True)
    assert len(kube.applied) == 4


def test_an_unwatched_object_is_applied_once_per_content() -> None:
    kube = RecordingKube()
    applier = Applier(kube)  # type: ignore[arg-type]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "m", "namespace": "t"}}
    assert applier.apply(service)
    assert not applier.apply(service)
    assert applier.apply({**service, "spec": {"ports": []}})
    applier.forget("t", {"m"})
    assert applier.apply({**service, "spec": {"ports": []}})  # forgotten: applied again


def test_a_deleted_owner_s_objects_are_checked_again() -> None:
    kube = RecordingKube()
    applier = Applier(kube)  # type: ignore[arg-type]
    owner = [{"apiVersion": "slmfleet.io/v1alpha1", "kind": "SmallModel", "name": "m", "uid": "u1"}]
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "m", "namespace": "t", "ownerReferences": owner}}  # fmt: skip
    applier.check(service, None, watched=False)
    assert applier.apply(service)
    applier.check(service, None, watched=False)
    assert kube.reads == 1  # applied by this process: not read again
    # The owner is deleted and a user creates their own Service of that name.
    applier.forget_owner("u1")
    kube.existing = {"kind": "Service", "metadata": {"name": "m", "namespace": "t"}}
    with pytest.raises(NameConflictError):
        applier.check({**service, "metadata": {**service["metadata"], "ownerReferences": []}},
                      None, watched=False)  # fmt: skip


def test_the_hash_annotation_does_not_change_the_hash() -> None:
    annotated, digest = with_hash(deployment())
    assert annotated["metadata"]["annotations"][slim.APPLIED_HASH] == digest
    assert with_hash(deployment())[1] == digest


def test_events_per_object_are_limited_within_a_window() -> None:
    now = [0.0]
    poster = EventPoster(None, clock=lambda: now[0])
    assert all(poster.allow("a") for _ in range(BURST))
    assert not poster.allow("a")
    assert poster.allow("b")  # another object has its own budget
    now[0] = WINDOW_SECONDS + 1
    assert poster.allow("a")
    assert poster.dropped == 1


def test_objects_without_recent_events_are_forgotten() -> None:
    now = [0.0]
    poster = EventPoster(None, clock=lambda: now[0])
    for uid in ("gone-1", "gone-2", "busy"):
        assert poster.allow(uid)
    now[0] = WINDOW_SECONDS * 1.5
    assert poster.allow("busy")
    assert poster.tracked() == 1  # the two quiet ones were swept; memory follows live objects


def test_an_event_names_its_object_and_carries_no_token() -> None:
    model = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "metadata": {"name": "qwen", "namespace": "team", "uid": "u1"},
    }
    message = "Hub said 401 for Authorization: Bearer hf_abcdefghijklmnopqrstuvwxyz123456"
    event = event_body(
        model, "Warning", "ModelFactsUnavailable", message, datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert event["metadata"] == {"generateName": "qwen.", "namespace": "team"}
    assert event["involvedObject"]["uid"] == "u1" and event["reason"] == "ModelFactsUnavailable"
    assert "hf_abcdefghijklmnopqrstuvwxyz123456" not in event["message"]
    gpuclass = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "GPUClass",
        "metadata": {"name": "t4"},
    }
    assert (
        event_body(gpuclass, "Normal", "Ready", "", datetime.now(UTC))["metadata"]["namespace"]
        == "default"
    )
