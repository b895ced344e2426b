"""Read a model's weight cache for its plan (I/O only): claim and Job from the cache, the last
download progress, and whether the StorageClass it names exists (one read per 30 s)."""

from __future__ import annotations

import threading
import time

from slmfleet.api.smallmodel import SmallModel
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.handlers.weight_cache import progress_of
from slmfleet.k8s import Kube
from slmfleet.reconcile.weight_cache import WeightsObserved
from slmfleet.weights.names import cache_name

STORAGE_CLASS_TTL_SECONDS = 30.0

_classes: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()


def storage_class_exists(kube: Kube, name: str) -> bool:
    now = time.monotonic()
    with _lock:
        found = _classes.get(name)
    if found is not None and found[0] > now:
        return found[1]
    exists = kube.get("StorageClass", name) is not None
    with _lock:
        _classes[name] = (now + STORAGE_CLASS_TTL_SECONDS, exists)
    return exists


def observe_weights(cache: FleetCache, kube: Kube, model: SmallModel) -> WeightsObserved | None:
    """The cache of the model's (repo, revision), or None when it has no download cache."""
    spec = model.spec
    hf = spec.source.hugging_face
    if spec.cache is None or spec.cache.image is not None or hf is None:
        return None
    ns = model.metadata.namespace or ""
    name = cache_name(hf.repo, hf.revision)
    claim = cache.weight_claim(ns, name)
    problem = None
    sc = spec.cache.storage_class_name
    if claim is None and sc is not None and not storage_class_exists(kube, sc):
        problem = (
            f"StorageClass {sc!r} (spec.cache.storageClassName) does not exist; create it or "
            "name another"
        )
    s = settings()
    return WeightsObserved(
        claim=claim,
        job=cache.weight_job(ns, name),
        progress=progress_of(ns, name),
        storage_problem=problem,
        downloader_image=s.downloader_image,
        hub_endpoint=s.hub_endpoint,
    )
