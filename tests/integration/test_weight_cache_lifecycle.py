"""A weight cache's life on the real control plane: deleted once unused past its grace period,
and a StorageClass that does not exist is a clear condition."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from conftest import condition
from slmfleet.devcluster.hub import STAND_IN_REPO, STAND_IN_REVISIONS, HubStandIn
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube
from slmfleet.weights.names import (
    CACHE_NODE_ANNOTATION,
    UNUSED_SINCE_ANNOTATION,
    WEIGHTS_LABEL,
    cache_name,
)

pytestmark = pytest.mark.integration


def model(namespace: str, name: str, revision: str, cache: dict[str, Any]) -> dict[str, Any]:
    body = yaml.safe_load(
        (repo_root() / "manifests" / "examples" / "smallmodel-qwen3-0.6b-t4.yaml").read_text()
    )
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(
        gpuClassName="l4",
        source={"huggingFace": {"repo": STAND_IN_REPO, "revision": revision}},
        cache=cache,
    )
    return dict(body)


def test_an_unused_cache_is_deleted_after_its_grace(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str, hub: HubStandIn
) -> None:
    hub.bytes_per_second = None
    revision = STAND_IN_REVISIONS[2]
    name = cache_name(STAND_IN_REPO, revision)
    k8s.apply(model(namespace, "gc", revision, {"unusedGraceSeconds": 3}))

    def ready() -> bool:
        obj = k8s.get("SmallModel", "gc", namespace)
        return condition(obj, "Ready").get("status") == "True"

    poll("the model serving from its cache", ready, timeout=120)
    claim = k8s.get("PersistentVolumeClaim", name, namespace) or {}
    assert claim["spec"]["storageClassName"] == "slmfleet-dev"  # the default class
    assert UNUSED_SINCE_ANNOTATION not in (claim["metadata"].get("annotations") or {})

    k8s.delete("SmallModel", "gc", namespace)
    marked = poll(
        "the claim marked unused",
        lambda: UNUSED_SINCE_ANNOTATION
        in (((k8s.get("PersistentVolumeClaim", name, namespace) or {}).get("metadata") or {})
            .get("annotations") or {}),
        timeout=60,
    )  # fmt: skip
    assert marked
    poll(
        "the cache deleted",
        lambda: (
            k8s.get("PersistentVolumeClaim", name, namespace) is None
            and k8s.get("Job", name, namespace) is None
        ),
        timeout=60,
    )


def test_a_missing_storage_class_is_a_clear_condition(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    revision = STAND_IN_REVISIONS[3]
    k8s.apply(model(namespace, "nosc", revision, {"storageClassName": "no-such-class"}))

    def stalled() -> dict[str, Any] | None:
        c = condition(k8s.get("SmallModel", "nosc", namespace), "Stalled")
        return c if c.get("status") == "True" else None

    c = poll("Stalled", stalled, timeout=60)
    assert c["reason"] == "StorageClassNotFound" and "no-such-class" in c["message"]
    assert k8s.get("PersistentVolumeClaim", cache_name(STAND_IN_REPO, revision), namespace) is None
    assert not k8s.list("Deployment", namespace, "slmfleet.io/model=nosc")


def test_a_read_write_once_cache_pins_the_engine_to_its_node(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str, hub: HubStandIn
) -> None:
    """The dev class binds at once (no selected-node): the operator records the node the
    download ran on, and the engine's pods are required there."""
    hub.bytes_per_second = None
    revision = STAND_IN_REVISIONS[1]
    name = cache_name(STAND_IN_REPO, revision)
    k8s.apply(model(namespace, "rwo", revision, {"accessMode": "ReadWriteOnce"}))

    def ready() -> dict[str, Any] | None:
        obj = k8s.get("SmallModel", "rwo", namespace)
        return obj if condition(obj, "Ready").get("status") == "True" else None

    obj = poll("the model serving from its ReadWriteOnce cache", ready, timeout=120)
    claim = k8s.get("PersistentVolumeClaim", name, namespace) or {}
    node = (claim["metadata"].get("annotations") or {}).get(CACHE_NODE_ANNOTATION)
    downloads = k8s.list("Pod", namespace, f"{WEIGHTS_LABEL}={name}")
    assert node and node in {p["spec"].get("nodeName") for p in downloads}
    assert obj["status"]["cache"]["node"] == node
    assert f"node {node}" in condition(obj, "Ready")["message"]
    engines = [
        p for p in k8s.list("Pod", namespace, "slmfleet.io/model=rwo") if p["spec"].get("nodeName")
    ]
    assert engines and {p["spec"]["nodeName"] for p in engines} == {node}
    terms = engines[0]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms[0]["matchFields"][0]["values"] == [node]
