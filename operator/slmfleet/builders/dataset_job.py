"""The loader Job of an EvalSuite dataset on a PersistentVolumeClaim (pure).

The operator cannot mount its users' claims, so a Job in the operator's image mounts the claim
read-only and serves the one file to the operator (datasets/serve.py), which reads it from the
pod's IP like the weight cache's download progress. The Job is owned by the EvalSuite (deleted
with it), has no service account token and no API access, and is removed a minute after it ends.
"""

from __future__ import annotations

import hashlib
from typing import Any

from slmfleet.builders.labels import MANAGED_BY
from slmfleet.builders.pod_security import GPU_TAINT_TOLERATION, container_security_context
from slmfleet.datasets.serve import DATASET_PORT

DATASET_LABEL = "slmfleet.io/evalsuite"
MOUNT_PATH = "/dataset"
LOADER_UID = 1000
"""The loader reads the file as this user and group: it must be readable by them or by all."""
TTL_AFTER_FINISHED_SECONDS = 60
ACTIVE_DEADLINE_SECONDS = 900
"""A loader nobody fetched from ends by then (it exits on its own when idle)."""


def loader_name(suite: str, uid: str, generation: int, claim: str, path: str, attempt: int) -> str:
    """``<suite>-dataset-<hash>-<attempt>``: a new name for each suite generation, file and
    attempt, within the 63 characters a Job's pod label takes."""
    digest = hashlib.sha256(f"{uid}/{generation}/{claim}/{path}".encode()).hexdigest()[:8]
    tail = f"-dataset-{digest}-{attempt}"
    return suite[: 63 - len(tail)].rstrip("-.") + tail


def loader_job(
    suite: dict[str, Any], name: str, claim: str, path: str, image: str
) -> dict[str, Any]:
    """The Job that serves ``path`` on ``claim`` to the operator."""
    meta = suite["metadata"]
    labels = {
        DATASET_LABEL: meta["name"][:63].rstrip("-."),
        MANAGED_BY: "slmfleet",
        "app.kubernetes.io/part-of": "slmfleet",
        "app.kubernetes.io/component": "eval-dataset",
    }
    owner = {
        "apiVersion": suite.get("apiVersion", "slmfleet.io/v1alpha1"),
        "kind": suite.get("kind") or "EvalSuite",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }
    container = {
        "name": "serve",
        "image": image,
        "command": ["python", "-m"],
        "args": ["slmfleet.datasets.serve", "--port", str(DATASET_PORT)],
        "env": [{"name": "SLMFLEET_DATASET_FILE", "value": f"{MOUNT_PATH}/{path}"}],
        "ports": [{"name": "dataset", "containerPort": DATASET_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "dataset"}},
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "volumeMounts": [{"name": "dataset", "mountPath": MOUNT_PATH, "readOnly": True}],
        "securityContext": container_security_context(),
    }
    pod_spec = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [
            {"name": "dataset", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        ],
        "tolerations": [GPU_TAINT_TOLERATION],  # a claim only GPU nodes reach is read too
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        # no fsGroup: the kubelet would change the ownership of the user's files to it
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": LOADER_UID,
            "runAsGroup": LOADER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": labels,
            "ownerReferences": [owner],
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
