"""The weight cache's objects (pure): its PersistentVolumeClaim, the download Job, and how an
engine pod mounts the cache.

The claim and the Job are named after (repo, revision), not after a SmallModel, and carry no
ownerReference: every model and revision of the namespace that serves the same repo and
revision shares them, and the operator deletes them once none has used them for the grace
period (handlers/weight_cache.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slmfleet.api.common import SecretKeyRef
from slmfleet.builders.labels import MANAGED_BY
from slmfleet.builders.pod_security import (
    GPU_TAINT_TOLERATION,
    container_security_context,
    engine_pod_security_context,
)
from slmfleet.weights.names import (
    GRACE_ANNOTATION,
    MOUNT_PATH,
    PROGRESS_PORT,
    REPO_ANNOTATION,
    REVISION_ANNOTATION,
    WEIGHTS_LABEL,
    cache_name,
)

VOLUME = "weights"
JOB_BACKOFF_LIMIT = 6
"""Retries of a failed download; each one keeps the files the earlier ones completed."""


@dataclass(frozen=True)
class CacheRequest:
    """One cache as a model asks for it."""

    namespace: str
    repo: str
    revision: str
    size: str
    storage_class: str | None
    access_mode: str
    patterns: tuple[str, ...]
    token: SecretKeyRef | None = None
    grace_seconds: int = 3600
    node_selector: tuple[tuple[str, str], ...] = ()
    """Where the download runs: the GPU class's nodes for a ReadWriteOnce volume, else anywhere."""

    @property
    def name(self) -> str:
        return cache_name(self.repo, self.revision)


def _meta(req: CacheRequest) -> dict[str, Any]:
    return {
        "name": req.name,
        "namespace": req.namespace,
        "labels": {
            WEIGHTS_LABEL: req.name,
            MANAGED_BY: "slmfleet",
            "app.kubernetes.io/part-of": "slmfleet",
            "app.kubernetes.io/component": "weight-cache",
        },
        "annotations": {
            REPO_ANNOTATION: req.repo,
            REVISION_ANNOTATION: req.revision,
            GRACE_ANNOTATION: str(req.grace_seconds),
        },
    }


def claim(req: CacheRequest) -> dict[str, Any]:
    """The cache volume's claim, sized for the snapshot."""
    spec: dict[str, Any] = {
        "accessModes": [req.access_mode],
        "resources": {"requests": {"storage": req.size}},
        "volumeMode": "Filesystem",
    }
    if req.storage_class is not None:
        spec["storageClassName"] = req.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(req),
        "spec": spec,
    }


def _env(req: CacheRequest, endpoint: str | None) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "SLMFLEET_WEIGHTS_REPO", "value": req.repo},
        {"name": "SLMFLEET_WEIGHTS_REVISION", "value": req.revision},
        {"name": "SLMFLEET_WEIGHTS_PATTERNS", "value": ",".join(req.patterns)},
        {"name": "SLMFLEET_WEIGHTS_DIR", "value": MOUNT_PATH},
        {"name": "HF_HOME", "value": "/tmp/hf-home"},
        {"name": "HF_HUB_OFFLINE", "value": "0"},  # this Job is what reaches the Hub
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
        {"name": "HF_HUB_DISABLE_PROGRESS_BARS", "value": "1"},
    ]
    if endpoint:
        env.append({"name": "HF_ENDPOINT", "value": endpoint})
    if req.token is not None:
        ref = {"name": req.token.name, "key": req.token.key}
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": ref}})
    return env


def download_job(req: CacheRequest, image: str, endpoint: str | None) -> dict[str, Any]:
    """The Job that fills the volume with huggingface_hub's snapshot_download (resumable:
    a retry keeps the files an earlier pod completed)."""
    container = {
        "name": "download",
        "image": image,
        "command": ["python", "-m"],
        "args": ["slmfleet.weights.download", "--port", str(PROGRESS_PORT)],
        "env": _env(req, endpoint),
        "ports": [{"name": "progress", "containerPort": PROGRESS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/progress", "port": "progress"}},
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "volumeMounts": [
            {"name": VOLUME, "mountPath": MOUNT_PATH},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [
            {"name": VOLUME, "persistentVolumeClaim": {"claimName": req.name}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
        "tolerations": [GPU_TAINT_TOLERATION],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": engine_pod_security_context(None),
    }
    if req.node_selector:
        pod_spec["nodeSelector"] = dict(req.node_selector)
    meta = _meta(req)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": JOB_BACKOFF_LIMIT,
            "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod_spec},
        },
    }


def engine_volume(name: str) -> dict[str, Any]:
    """The engine pod's read-only view of the cache volume."""
    return {"name": VOLUME, "persistentVolumeClaim": {"claimName": name, "readOnly": True}}


def image_volume(reference: str, pull_policy: str) -> dict[str, Any]:
    """An OCI image mounted as a volume (Kubernetes ImageVolume): weights shipped as an image."""
    return {"name": VOLUME, "image": {"reference": reference, "pullPolicy": pull_policy}}


def engine_env() -> list[dict[str, str]]:
    """vLLM loads from the mounted cache and never reaches the Hub."""
    return [
        {"name": "HF_HUB_CACHE", "value": MOUNT_PATH},
        {"name": "HF_HUB_OFFLINE", "value": "1"},
    ]
