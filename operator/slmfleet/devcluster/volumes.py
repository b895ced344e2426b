"""Storage for the local cluster: a default StorageClass whose claims get a directory here.

The local cluster has no storage driver. ``VolumeProvisioner`` watches PersistentVolumeClaims of
the class ``slmfleet-dev`` (the default class, so claims that name none get it too) and creates
for each a hostPath PersistentVolume bound to it, backed by a directory under the cluster's
workdir; the controller-manager's binder completes the binding, and the scheduler places pods
that use the claim as on a real cluster. When a claim is deleted, its volume and directory go.
The pod backer gives a backed process the directory of each claim its pod mounts.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slmfleet.devcluster.watching import watch_forever
from slmfleet.k8s import Kube

log = logging.getLogger(__name__)

DEV_STORAGE_CLASS = "slmfleet-dev"
PROVISIONER = "dev.slmfleet.io/hostpath"


def storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": DEV_STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def volume_name(claim: Mapping[str, Any]) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def claim_directory(root: Path, claim: Mapping[str, Any]) -> Path:
    meta = claim["metadata"]
    return root / f"{meta['namespace']}-{meta['name']}-{str(meta['uid'])[:8]}"


def wants_volume(claim: Mapping[str, Any]) -> bool:
    """A claim of the dev class that has no volume yet."""
    spec = claim.get("spec") or {}
    meta = claim.get("metadata") or {}
    return (
        spec.get("storageClassName") == DEV_STORAGE_CLASS
        and not spec.get("volumeName")
        and not meta.get("deletionTimestamp")
    )


def volume_for(claim: Mapping[str, Any], directory: Path) -> dict[str, Any]:
    """A hostPath volume of the claim's size and access modes, already bound to the claim."""
    meta, spec = claim["metadata"], claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_name(claim),
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": "Retain",  # this provisioner deletes it, not a plugin
            "storageClassName": DEV_STORAGE_CLASS,
            "volumeMode": "Filesystem",
            "hostPath": {"path": str(directory), "type": "DirectoryOrCreate"},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
        },
    }


def claim_host_path(kube: Kube, namespace: str, claim: str) -> Path | None:
    """The directory behind a bound claim of the dev class, or None."""
    pvc = kube.get("PersistentVolumeClaim", claim, namespace)
    name = ((pvc or {}).get("spec") or {}).get("volumeName")
    pv = kube.get("PersistentVolume", name) if name else None
    path = (((pv or {}).get("spec") or {}).get("hostPath") or {}).get("path")
    return Path(path) if path else None


class VolumeProvisioner:
    """Creates and removes the hostPath volumes of dev-class claims (see the module doc)."""

    def __init__(self, api: client.ApiClient, root: Path) -> None:
        self._core = client.CoreV1Api(api)
        self._kube = Kube(api)
        self.root = root
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> VolumeProvisioner:
        self.root.mkdir(parents=True, exist_ok=True)
        self._kube.apply(storage_class())
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        watch_forever(
            self._stop,
            self._resync,
            self._core.list_persistent_volume_claim_for_all_namespaces,
            self._on_event,
            "claim",
        )

    def _resync(self) -> str:
        response = self._core.list_persistent_volume_claim_for_all_namespaces(
            _preload_content=False
        )
        listing = json.loads(response.data)
        for claim in listing.get("items") or []:
            self._on_event("MODIFIED", claim)
        return str(listing["metadata"]["resourceVersion"])

    def _on_event(self, kind: str, claim: dict[str, Any]) -> None:
        if (claim.get("spec") or {}).get("storageClassName") != DEV_STORAGE_CLASS:
            return
        directory = claim_directory(self.root, claim)
        if kind == "DELETED":
            self._kube.delete("PersistentVolume", volume_name(claim))
            shutil.rmtree(directory, ignore_errors=True)
            return
        if not wants_volume(claim):
            return
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # a pod's process may run as any user
        try:
            self._kube.create(volume_for(claim, directory))
        except ApiException as err:
            if err.status != 409:  # created on an earlier event
                raise
