"""Weight cache watch handlers: every event only enqueues keys (the namespace's weights pass,
the models that use the cache).

A claim or download Job changing (bound, started, completed, failed) moves the models that use
it on; a SmallModel with a cache, or an engine Deployment that mounts one, coming or going
changes which caches are used.
"""

from __future__ import annotations

from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.cache.seen import SEEN
from slmfleet.handlers.runtime import model_key, runtime
from slmfleet.handlers.weight_cache import models_by_cache, sync_weights, weights_key
from slmfleet.weights.names import WEIGHTS_LABEL
from slmfleet.workqueue import Key

DEBOUNCE_SECONDS = 0.5


def handle_weights(key: Key) -> float | None:
    return sync_weights(runtime(), key[1])


def _cache_changed(namespace: str, name: str) -> None:
    rt = runtime()
    rt.enqueue(weights_key(namespace), DEBOUNCE_SECONDS)
    for model in models_by_cache(rt.cache.smallmodels(namespace)).get(name, []):
        rt.enqueue(model_key(namespace, model))


@kopf.on.event("", "v1", "persistentvolumeclaims", labels={WEIGHTS_LABEL: kopf.PRESENT})
async def on_weight_claim_event(
    namespace: str | None, name: str | None, body: kopf.Body, type: str | None, **_: Any
) -> None:
    if SEEN.changed("PersistentVolumeClaim", body, type):
        _cache_changed(namespace or "", str(name))


@kopf.on.event("batch", "v1", "jobs", labels={WEIGHTS_LABEL: kopf.PRESENT})
async def on_weight_job_event(
    namespace: str | None, name: str | None, body: kopf.Body, type: str | None, **_: Any
) -> None:
    if SEEN.changed("Job", body, type):
        _cache_changed(namespace or "", str(name))


@kopf.on.event(GROUP, VERSION, "smallmodels")
async def on_model_cache_event(
    namespace: str | None, spec: kopf.Spec, status: kopf.Status, type: str | None, **_: Any
) -> None:
    """A model that asks for a cache, or did: which caches are used may have changed."""
    if spec.get("cache") or status.get("cache") or type == "DELETED":
        runtime().enqueue(weights_key(namespace or ""), DEBOUNCE_SECONDS)


@kopf.on.event("apps", "v1", "deployments", labels={WEIGHTS_LABEL: kopf.PRESENT})
async def on_cache_user_event(namespace: str | None, type: str | None, **_: Any) -> None:
    """An engine Deployment that mounts a cache: deleted, its cache may now be unused."""
    if type in ("DELETED", None):
        runtime().enqueue(weights_key(namespace or ""), DEBOUNCE_SECONDS)
