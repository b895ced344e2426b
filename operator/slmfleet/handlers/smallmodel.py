"""SmallModel watch handlers: every event only enqueues keys; the work is model_sync's.

A SmallModel event enqueues the model (and its namespace's routing, debounced); an event of one
of its engine Deployments or pods enqueues the model it is labelled for. Only objects the API
server filtered by the model label reach these handlers (cache/indexes.py).
"""

from __future__ import annotations

from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.builders.labels import MODEL_LABEL
from slmfleet.cache.seen import MODEL_INPUTS, SEEN
from slmfleet.handlers.autoscaling import FLEET_KEY
from slmfleet.handlers.model_sync import sync_model
from slmfleet.handlers.runtime import model_key, runtime
from slmfleet.workqueue import Key


def handle_model(key: Key) -> float | None:
    _, namespace, name = key
    return sync_model(runtime(), namespace, name)


@kopf.on.event(GROUP, VERSION, "smallmodels")
async def on_model_event(
    namespace: str | None,
    name: str | None,
    spec: kopf.Spec,
    status: kopf.Status,
    body: kopf.Body,
    type: str | None,
    **_: Any,
) -> None:
    if not SEEN.changed("SmallModel", body, type):
        return  # a re-list of an unchanged object
    if not MODEL_INPUTS.changed(body, type):
        return  # only status.cost moved: nothing to plan or route
    rt = runtime()
    ns = namespace or ""
    if type == "DELETED":
        rt.applier.forget_owner(str(body.get("metadata", {}).get("uid") or ""))
    rt.enqueue(model_key(ns, str(name)))
    rt.enqueue_routes(ns)
    rt.ensure(FLEET_KEY, 1.0)  # the fleet pass (autoscaling, cost), started once, not hurried


@kopf.on.event("apps", "v1", "deployments", labels={MODEL_LABEL: kopf.PRESENT})
async def on_engine_deployment_event(
    namespace: str | None, labels: kopf.Labels, body: kopf.Body, type: str | None, **_: Any
) -> None:
    """Replicas becoming ready or going: the owner's status and rollout move on."""
    if not SEEN.changed("Deployment", body, type):
        return
    runtime().enqueue(model_key(namespace or "", str(labels.get(MODEL_LABEL, ""))))


@kopf.on.event("", "v1", "pods", labels={MODEL_LABEL: kopf.PRESENT})
async def on_engine_pod_event(
    namespace: str | None, labels: kopf.Labels, body: kopf.Body, type: str | None, **_: Any
) -> None:
    """A pod's readiness changes the router's endpoints; an unschedulable one the model's status."""
    if not SEEN.changed("Pod", body, type):
        return
    rt = runtime()
    ns = namespace or ""
    rt.enqueue(model_key(ns, str(labels.get(MODEL_LABEL, ""))))
    rt.enqueue_routes(ns)
