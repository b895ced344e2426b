"""The operator on the real control plane: SmallModels become simulator-backed vLLM Deployments."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import yaml

from slmfleet.builders.labels import label_selector, service_name
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

EXAMPLES = repo_root() / "manifests" / "examples"


def example(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / name).read_text())
    body["metadata"]["namespace"] = namespace
    body["spec"].update(spec)
    return dict(body)


def condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return {}


def wait_condition(
    k8s: Kube, name: str, namespace: str, ctype: str, status: str = "True", timeout: float = 90
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = k8s.get("SmallModel", name, namespace)
        cond = condition(obj, ctype)
        gen = (obj or {}).get("metadata", {}).get("generation")
        if cond.get("status") == status and cond.get("observedGeneration") == gen:
            return obj
        return None

    try:
        return poll(f"{namespace}/{name} {ctype}={status}", probe, timeout)
    except TimeoutError as err:
        raise AssertionError(f"{err}\n{debug_state(k8s, name, namespace)}") from None


def debug_state(k8s: Kube, name: str, namespace: str) -> str:
    """What the model, its Deployment and its pods looked like, for a failure message."""
    obj = k8s.get("SmallModel", name, namespace) or {}
    deps = k8s.list("Deployment", namespace, f"slmfleet.io/model={name}")
    dep = deps[-1] if deps else {}  # one per revision
    pods = [
        (p["metadata"]["name"], p["status"].get("phase"), p["metadata"].get("deletionTimestamp"))
        for p in k8s.list("Pod", namespace, f"slmfleet.io/model={name}")
    ]
    return (
        f"status: {obj.get('status')}\ndeployment status: {dep.get('status')}\n"
        f"deployment generation: {dep.get('metadata', {}).get('generation')}\npods: {pods}"
    )


def models_answer(ip: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{ip}:8000/v1/models", timeout=3) as resp:
            return [m["id"] for m in json.loads(resp.read())["data"]]
    except OSError:
        return []


def engine_deployments(k8s: Kube, name: str, namespace: str) -> list[dict[str, Any]]:
    """The model's engine Deployments: one per revision, named <model>-<revision>."""
    return k8s.list("Deployment", namespace, f"slmfleet.io/model={name}")


def events_for(k8s: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    return [
        e for e in k8s.list("Event", namespace) if e.get("involvedObject", {}).get("name") == name
    ]


def test_smallmodel_becomes_ready_on_matching_gpu_nodes(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = example("smallmodel-qwen3-0.6b-t4.yaml", namespace, replicas=2, maxReplicas=2)
    name = body["metadata"]["name"]
    k8s.apply(body)
    obj = wait_condition(k8s, name, namespace, "Ready")
    status = obj["status"]
    assert status["phase"] == "Ready"
    assert status["readyReplicas"] == 2
    assert status["plan"]["fits"] is True
    assert status["plan"]["dtype"] == "float16"  # T4 has no bfloat16
    assert condition(obj, "Stalled")["status"] == "False"

    dep = k8s.get("Deployment", f"{name}-{status['templateHash']}", namespace)
    assert dep is not None
    assert dep["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--dtype") + 1] == "float16"
    selector = label_selector(dep["spec"]["selector"]["matchLabels"])
    pods = k8s.list("Pod", namespace, selector)
    assert len(pods) == 2
    served = status["servedModelName"]
    for pod in pods:
        assert pod["spec"]["nodeName"] == "gpu-t4-0"
        assert poll("the engine answering", lambda p=pod: models_answer(p["status"]["podIP"])) == [
            served
        ]
    assert k8s.get("Service", service_name(name), namespace) is not None
    assert k8s.get("PodDisruptionBudget", name, namespace) is not None
    reasons = {e["reason"] for e in events_for(k8s, namespace, name)}
    assert "Available" in reasons


def test_a_budget_only_while_more_than_one_replica_can_run(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = example("smallmodel-qwen3-0.6b-t4.yaml", namespace, minReplicas=1, maxReplicas=1)
    name = body["metadata"]["name"]
    k8s.apply(body)
    wait_condition(k8s, name, namespace, "Ready")
    assert k8s.get("PodDisruptionBudget", name, namespace) is None  # one replica: no budget
    body["spec"]["maxReplicas"] = 2
    k8s.apply(body)
    wait_condition(k8s, name, namespace, "Ready")
    budget = poll("the budget", lambda: k8s.get("PodDisruptionBudget", name, namespace))
    assert budget["spec"]["maxUnavailable"] == 1
    body["spec"]["maxReplicas"] = 1  # outgrown: the operator deletes it
    k8s.apply(body)
    poll("the budget deleted", lambda: k8s.get("PodDisruptionBudget", name, namespace) is None)
    assert condition(wait_condition(k8s, name, namespace, "Ready"), "Ready")["status"] == "True"


def test_model_too_big_is_stalled_with_the_planner_reason(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = example(
        "smallmodel-qwen2.5-3b-l4.yaml",
        namespace,
        gpuClassName="t4",
        dtype="float32",
        maxModelLen=32768,
    )
    name = body["metadata"]["name"]
    k8s.apply(body)
    obj = wait_condition(k8s, name, namespace, "Stalled")
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == "DoesNotFit"
    assert "GiB" in stalled["message"] and "t4" in stalled["message"]
    assert obj["status"]["plan"]["fits"] is False
    assert condition(obj, "Ready")["status"] == "False"
    assert engine_deployments(k8s, name, namespace) == []
    warnings = [e for e in events_for(k8s, namespace, name) if e["type"] == "Warning"]
    assert any(e["reason"] == "DoesNotFit" for e in warnings)


def test_update_rolls_a_new_revision_and_delete_leaves_nothing(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    # one canary step with a short analysis interval, so the rollout is quick
    rollout = {"steps": [{"weight": 50}], "analysisIntervalSeconds": 1, "analysis": "none"}
    body = example("smallmodel-qwen3-0.6b-t4.yaml", namespace, rollout=rollout)
    name = body["metadata"]["name"]
    k8s.apply(body)
    first = wait_condition(k8s, name, namespace, "Ready")["status"]["templateHash"]

    def rollout_serving() -> bool:
        status = (k8s.get("SmallModel", name, namespace) or {}).get("status") or {}
        return bool((status.get("rollout") or {}).get("stableRevision") == first)

    # the rollout has taken the first revision as stable (and into its history)
    poll("the first revision stable", rollout_serving)
    body["spec"]["maxModelLen"] = 2048
    k8s.apply(body)
    obj = wait_condition(k8s, name, namespace, "Ready")
    assert obj["status"]["templateHash"] != first
    assert obj["status"]["plan"]["maxModelLen"] == 2048
    assert obj["status"]["rollout"]["phase"] == "Succeeded"
    assert obj["status"]["rollout"]["stableRevision"] == obj["status"]["templateHash"]
    assert [h["revision"] for h in obj["status"]["history"]] == [
        obj["status"]["templateHash"],
        first,
    ]

    def only_one() -> list[dict[str, Any]] | None:
        deps = engine_deployments(k8s, name, namespace)
        return deps if len(deps) == 1 else None

    dep = poll("the old revision's Deployment deleted", only_one)[0]
    assert dep["metadata"]["name"] == f"{name}-{obj['status']['templateHash']}"
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-model-len") + 1] == "2048"

    k8s.delete("SmallModel", name, namespace)
    poll(
        "children garbage-collected",
        lambda: (
            all(
                k8s.get(kind, name, namespace) is None
                for kind in ("SmallModel", "Service", "PodDisruptionBudget")
            )
            and not engine_deployments(k8s, name, namespace)
        ),
        timeout=60,
    )
    selector = f"slmfleet.io/model={name}"
    poll("engine pods gone", lambda: not k8s.list("Pod", namespace, selector), timeout=60)


def test_gpuclass_change_and_deletion_replan_its_models(
    operator: OperatorProcess, k8s: Kube, crds: list[str], namespace: str
) -> None:
    gc_name = f"small-{namespace}"
    gpuclass = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "GPUClass",
        "metadata": {"name": gc_name},
        "spec": {
            "product": "NVIDIA-L4",
            "memoryGiB": 22.5,
            "computeCapability": "8.9",
            "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
        },
    }
    k8s.apply(gpuclass)
    body = example("smallmodel-qwen2.5-3b-l4.yaml", namespace, gpuClassName=gc_name)
    name = body["metadata"]["name"]
    k8s.apply(body)
    wait_condition(k8s, name, namespace, "Ready")

    def listed() -> dict[str, Any] | None:
        status = (k8s.get("GPUClass", gc_name) or {}).get("status") or {}
        ref = {"namespace": namespace, "name": name}
        ok = status.get("matchingNodes") == 2 and ref in (status.get("models") or [])
        return status if ok else None

    poll("GPUClass status lists its model and nodes", listed)

    # Shrink the class below the model: the model is re-planned and stalls, its pods stay.
    gpuclass["spec"]["memoryGiB"] = 6
    k8s.apply(gpuclass)
    obj = wait_condition(k8s, name, namespace, "Stalled")
    assert condition(obj, "Stalled")["reason"] == "DoesNotFit"
    assert engine_deployments(k8s, name, namespace)

    k8s.delete("GPUClass", gc_name)
    poll(
        "GPUClassNotFound on the model",
        lambda: (
            condition(k8s.get("SmallModel", name, namespace), "Stalled").get("reason")
            == "GPUClassNotFound"
        ),
    )
    assert engine_deployments(k8s, name, namespace)


def test_a_users_service_of_the_models_name_is_a_name_conflict_and_left_untouched(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = example("smallmodel-qwen3-0.6b-t4.yaml", namespace)
    name = body["metadata"]["name"]
    user_spec = {"selector": {"app": "mine"}, "ports": [{"name": "web", "port": 9999}]}
    meta = {"name": service_name(name), "namespace": namespace, "labels": {"team": "web"}}
    k8s.create({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": user_spec})
    k8s.apply(body)
    obj = wait_condition(k8s, name, namespace, "Stalled")
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == "NameConflict"
    assert f"Service {namespace}/{service_name(name)} exists" in stalled["message"]
    assert engine_deployments(k8s, name, namespace) == []  # nothing applied, not even the engine
    svc = k8s.get("Service", service_name(name), namespace) or {}
    assert svc["metadata"]["labels"] == {"team": "web"}
    assert svc["spec"]["selector"] == {"app": "mine"}
    assert [p["port"] for p in svc["spec"]["ports"]] == [9999]
    assert "ownerReferences" not in svc["metadata"]
    # Deleting the user's Service resolves it: the model's own Service is created and it serves.
    k8s.delete("Service", service_name(name), namespace)
    wait_condition(k8s, name, namespace, "Ready", timeout=120)
