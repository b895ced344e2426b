"""A fleet of 200 SmallModels on one operator: every one converges, and status follows its
Deployment (scale-ups, hand edits) from watch events alone. Timings are the bench's business
(bench/fleet_scale.py); here only the outcomes are checked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

EXAMPLES = repo_root() / "manifests" / "examples"
FLEET = 200


def fleet_model(name: str, namespace: str, replicas: int = 0) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"]["servedModelName"] = name
    body["spec"]["replicas"] = replicas
    body["spec"]["minReplicas"] = 0
    body["spec"].pop("autoscaling", None)
    body["spec"]["engine"] = {"image": "registry.invalid/fleet-test-engine:1"}  # no process
    return dict(body)


def settled(body: dict[str, Any]) -> bool:
    status = body.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    generation = body["metadata"].get("generation")
    return (
        bool(ready)
        and ready[0]["status"] == "True"
        and (status.get("observedGeneration") == generation)
    )


def test_a_fleet_converges_and_status_follows_deployments(
    k8s: Kube, namespace: str, gpuclasses: list[str], operator: OperatorProcess
) -> None:
    names = [f"m{i:03d}" for i in range(FLEET)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: k8s.create(fleet_model(n, namespace)), names))

    def all_ready() -> list[dict[str, Any]] | None:
        models = k8s.list("SmallModel", namespace)
        return models if sum(settled(m) for m in models) == FLEET else None

    models = poll("200 SmallModels Ready", all_ready, timeout=600, interval=2.0)
    deployments = k8s.list("Deployment", namespace, "slmfleet.io/model")
    assert sorted(d["metadata"]["labels"]["slmfleet.io/model"] for d in deployments) == names
    assert {m["status"]["conditions"][0]["reason"] for m in models} == {"ScaledToZero"}
    assert not any(m["metadata"].get("finalizers") for m in models)

    # A scale-up: the model's status follows its Deployment's readiness (watch events only).
    k8s.merge_patch("SmallModel", "m007", {"spec": {"replicas": 1}}, namespace)

    def serving() -> dict[str, Any] | None:
        body = k8s.get("SmallModel", "m007", namespace) or {}
        ok = settled(body) and (body.get("status") or {}).get("readyReplicas") == 1
        return body if ok else None

    body = poll("m007 serving one ready replica", serving, timeout=180)
    assert body["status"]["conditions"][0]["reason"] == "Available"

    # A hand edit of another model's Deployment is put back from the cache's view of it.
    name = next(
        d["metadata"]["name"] for d in deployments if d["metadata"]["name"].startswith("m150-")
    )
    k8s.merge_patch("Deployment", name, {"spec": {"replicas": 2}}, namespace)

    def restored() -> bool:
        dep = k8s.get("Deployment", name, namespace) or {}
        return (dep.get("spec") or {}).get("replicas") == 0

    poll(f"{name} back at 0 replicas", restored, timeout=120)

    def others_ready() -> bool:  # m150's hand-made pods drain first, as a kubelet would
        models = [m for m in k8s.list("SmallModel", namespace) if m["metadata"]["name"] != "m007"]
        return all(settled(m) for m in models)

    poll("every other model Ready again", others_ready, timeout=120, interval=2.0)

    # A restart with the fleet present: kopf lists 200 models, their Deployments and pods at once
    # (more objects than any worker cap), fills its indexes, then handles a change made while
    # the operator was down.
    operator.stop()
    k8s.merge_patch("SmallModel", "m008", {"spec": {"replicas": 1}}, namespace)
    operator.start()

    def m008_serving() -> bool:
        body = k8s.get("SmallModel", "m008", namespace) or {}
        return settled(body) and (body.get("status") or {}).get("readyReplicas") == 1

    poll("m008 serving after the restart", m008_serving, timeout=180)
