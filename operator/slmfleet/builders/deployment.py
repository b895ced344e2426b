"""The engine Deployment of a SmallModel (pure): pod template, GPU scheduling, probes, revision hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.smallmodel import SmallModelSpec
from slmfleet.builders.engine import (
    PORT,
    adapter_fetch_command,
    disk_bytes,
    engine_args,
    engine_env,
    engine_mounts,
    fetch_env,
    termination,
)
from slmfleet.builders.labels import (
    REVISION_LABEL,
    common_labels,
    owner_reference,
    selector_labels,
    template_hash,
)
from slmfleet.builders.pod_security import (
    GPU_TAINT_TOLERATION,
    container_security_context,
    engine_pod_security_context,
    gib,
)
from slmfleet.planner import MemoryPlan
from slmfleet.weights.names import WEIGHTS_LABEL, cache_name

# Weight loading can take many minutes on a cold cache; /health is not served until it is done.
STARTUP_PROBE = {"periodSeconds": 10, "failureThreshold": 180, "timeoutSeconds": 5}
READINESS_PROBE = {"periodSeconds": 5, "failureThreshold": 3, "timeoutSeconds": 5}
LIVENESS_PROBE = {"periodSeconds": 10, "failureThreshold": 6, "timeoutSeconds": 10}


@dataclass(frozen=True)
class ModelRef:
    """The SmallModel's identity: what children are named after and owned by."""

    name: str
    namespace: str
    uid: str


def _probe(settings: dict[str, int]) -> dict[str, Any]:
    return {"httpGet": {"path": "/health", "port": "http"}, **settings}


def _resources(spec: SmallModelSpec, gpu: GPUClassSpec, plan: MemoryPlan) -> dict[str, Any]:
    gpus = plan.tensor_parallel_size
    requests: dict[str, str] = {"ephemeral-storage": gib(disk_bytes(spec, plan.weights_bytes))}
    limits: dict[str, str] = {gpu.resource_name: str(gpus)}
    user = spec.engine.resources
    if user is not None:
        requests.update(user.requests.to_body() if user.requests else {})
        limits.update(user.limits.to_body() if user.limits else {})
    requests[gpu.resource_name] = str(gpus)
    return {"requests": requests, "limits": limits}


def _tolerations(gpu: GPUClassSpec) -> list[dict[str, Any]]:
    """The usual GPU-node taint is always tolerated; the class's own tolerations follow."""
    out = [GPU_TAINT_TOLERATION]
    out += [t.to_body() for t in gpu.tolerations if t.to_body() != GPU_TAINT_TOLERATION]
    return out


def pod_template(
    model: ModelRef, spec: SmallModelSpec, gpu: GPUClassSpec, plan: MemoryPlan, image: str
) -> dict[str, Any]:
    """The pod template without its revision label (the hash is computed over this)."""
    served = spec.served_model_name or model.name
    mounts = engine_mounts(spec, f"{plan.tensor_parallel_size * 2}Gi", plan.weights_bytes)
    lifecycle, grace = termination(spec)
    container: dict[str, Any] = {
        "name": "vllm",
        "image": image,
        "args": engine_args(spec, served, plan),
        "env": engine_env(spec),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": _resources(spec, gpu, plan),
        "startupProbe": _probe(STARTUP_PROBE),
        "readinessProbe": _probe(READINESS_PROBE),
        "livenessProbe": _probe(LIVENESS_PROBE),
        "lifecycle": lifecycle,
        "volumeMounts": [
            {"name": m.volume["name"], "mountPath": m.mount_path, "readOnly": m.read_only}
            for m in mounts
        ],
        "securityContext": container_security_context(),
    }
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [m.volume for m in mounts],
        "nodeSelector": dict(gpu.node_selector),
        "tolerations": _tolerations(gpu),
        "terminationGracePeriodSeconds": grace,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": engine_pod_security_context(spec.engine.security_context),
    }
    fetch = adapter_fetch_command(spec)
    if fetch is not None:
        pod_spec["initContainers"] = [
            {
                "name": "fetch-adapters",
                "image": image,
                "command": fetch,
                "env": fetch_env(spec),
                "volumeMounts": container["volumeMounts"],
                "securityContext": container_security_context(),
            }
        ]
    return {
        "metadata": {
            "labels": common_labels(model.name),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(PORT),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": pod_spec,
    }


def cache_labels(spec: SmallModelSpec) -> dict[str, str]:
    """The weight cache a revision mounts, on its Deployment: the cache stays while it is used."""
    hf = spec.source.hugging_face
    if spec.cache is None or spec.cache.image is not None or hf is None:
        return {}
    return {WEIGHTS_LABEL: cache_name(hf.repo, hf.revision)}


def desired_replicas(spec: SmallModelSpec) -> int:
    """spec.replicas (the scale subresource) when set, else minReplicas."""
    return spec.replicas if spec.replicas is not None else spec.min_replicas


def revision_deployment_name(model: str, revision: str) -> str:
    """One Deployment per revision, so a canary runs beside the stable revision."""
    return f"{model}-{revision}"


def deployment(
    model: ModelRef,
    spec: SmallModelSpec,
    gpu: GPUClassSpec,
    plan: MemoryPlan,
    image: str,
    replicas: int | None = None,
) -> dict[str, Any]:
    """The engine Deployment of the spec's revision (the pod template's hash).

    Its name and selector carry the revision; ``replicas`` is what the rollout gives this revision
    (all desired replicas when unset).
    """
    template = pod_template(model, spec, gpu, plan, image)
    revision = template_hash(template)
    template["metadata"]["labels"][REVISION_LABEL] = revision
    labels = {**common_labels(model.name), REVISION_LABEL: revision, **cache_labels(spec)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": revision_deployment_name(model.name, revision),
            "namespace": model.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference("SmallModel", model.name, model.uid)],
        },
        "spec": {
            "replicas": desired_replicas(spec) if replicas is None else replicas,
            "selector": {"matchLabels": {**selector_labels(model.name), REVISION_LABEL: revision}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": template,
        },
    }
