"""spec.cache and its status: a shared volume holding a model's weights, filled once.

A SmallModel with ``spec.cache`` gets its weights from a PersistentVolumeClaim that a download
Job fills once per (namespace, repo, revision); every replica and every canary of the same
repo and revision mounts it read-only. Or, with ``cache.image``, from an OCI image mounted as a
Kubernetes image volume.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slmfleet.api.base import SpecModel, StatusModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import DNS_SUBDOMAIN_PATTERN
from slmfleet.api.quantity import Quantity

CachePhase = Literal["Pending", "Downloading", "Complete", "Failed"]
DEFAULT_UNUSED_GRACE_SECONDS = 3600


class ImageVolumeSpec(SpecModel):
    """Weights shipped as an OCI image (artifact), mounted read-only as an image volume."""

    reference: str = Field(
        min_length=1,
        max_length=1024,
        description=(
            "Image reference holding the Hugging Face cache layout (hub/models--ORG--NAME/...), "
            "for example registry.example.com/weights/qwen3-0.6b@sha256:...; pin a digest."
        ),
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="When the kubelet pulls the image."
    )


class WeightCacheSpec(SpecModel):
    """Where a shared copy of the weights lives, and how long an unused one is kept."""

    CEL_RULES = (
        Cel(
            "!has(self.image) || (!has(self.storageClassName) && !has(self.size))",
            "cache.image is mounted as it is: storageClassName and size are for the download "
            "volume and cannot be set with it",
            lambda s: s.image is None or (s.storage_class_name is None and s.size is None),
        ),
    )

    storage_class_name: str | None = Field(
        None,
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
        description="StorageClass of the cache volume; the cluster's default when unset.",
    )
    access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = Field(
        "ReadWriteMany",
        description=(
            "ReadWriteMany lets replicas on every node mount the cache; with ReadWriteOnce "
            "the engine pods run on the node the cache's volume is on (status.cache.node), so "
            "replicas are limited to that node's GPUs."
        ),
    )
    size: Quantity | None = Field(
        None,
        description=(
            "Volume size; by default the planner's weight bytes plus tokenizer and config "
            "files and 10% headroom. A size below that is refused (CacheTooSmall)."
        ),
    )
    unused_grace_seconds: int = Field(
        DEFAULT_UNUSED_GRACE_SECONDS,
        ge=0,
        le=30 * 86400,
        description=(
            "How long a cache no SmallModel revision uses is kept (a rollback or scale-up "
            "finds it warm) before the operator deletes its volume."
        ),
    )
    image: ImageVolumeSpec | None = Field(
        None,
        description=(
            "Mount the weights from an OCI image instead of downloading them (Kubernetes image "
            "volumes: the ImageVolume feature gate, on by default from 1.35, and a runtime that "
            "supports it)."
        ),
    )


class WeightCacheStatus(StatusModel):
    """The cache the spec's revision loads from and how far its download is."""

    name: str | None = Field(None, description="PersistentVolumeClaim (and download Job) name.")
    phase: CachePhase | None = Field(None, description="Pending, Downloading, Complete or Failed.")
    progress: str | None = Field(
        None, description="Download progress in words (kubectl get sm's CACHE column)."
    )
    bytes_done: int | None = Field(None, ge=0, description="Bytes downloaded so far.")
    bytes_total: int | None = Field(None, ge=0, description="Bytes of the files to download.")
    files_done: int | None = Field(None, ge=0, description="Files downloaded so far.")
    files_total: int | None = Field(None, ge=0, description="Files to download.")
    size: str | None = Field(None, description="Requested volume size.")
    started_at: str | None = Field(None, description="When the download Job started.")
    completed_at: str | None = Field(None, description="When the download finished.")
    message: str | None = Field(None, description="Why the cache is not complete, if it failed.")
    waiting_revision: str | None = Field(
        None, description="The engine revision that waited for this download (cold start)."
    )
    node: str | None = Field(
        None,
        description=(
            "The node a ReadWriteOnce cache's volume is on: the engine pods of every revision "
            "that mounts it run on this node only (its GPUs bound the replicas)."
        ),
    )


class ColdStart(StatusModel):
    """How long one revision took from wanting replicas to its first Ready pod, by part."""

    revision: str = Field(description="Engine revision (pod template hash).")
    pod_created_at: str | None = Field(None, description="Creation time of the first pod.")
    download_seconds: float | None = Field(
        None,
        description=(
            "Seconds the revision waited for its weight cache to be filled (0: it was warm; "
            "unset: no cache, the engine downloads while it loads)."
        ),
    )
    schedule_seconds: float | None = Field(None, description="Pod creation to scheduled on a node.")
    load_seconds: float | None = Field(
        None, description="Scheduled to Ready: image, weights load, engine start, first probe."
    )
    total_seconds: float | None = Field(None, description="Download plus pod creation to Ready.")
    cached: bool = Field(False, description="Whether the weights came from the weight cache.")
