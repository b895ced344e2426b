"""GPUClass handlers: report matching nodes and users, and re-plan every SmallModel that uses it.

A GPUClass event enqueues the class and every SmallModel that names it (a deleted class leaves
its models GPUClassNotFound, their replicas alone; watching DELETED needs no finalizer); a node
event that changed what classes match on (labels, taints, allocatable; not a heartbeat) enqueues
every class, whose matching-node count may have changed. All reads come from the
cache; the status is patched only when it changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.api.errors import SpecError
from slmfleet.api.gpuclass import GPUClassStatus
from slmfleet.api.parse import parse_gpuclass, plain
from slmfleet.cache.seen import NODE_INPUTS, SEEN
from slmfleet.conditions import conditions_for
from slmfleet.config import settings, watched
from slmfleet.handlers.events import post_transitions
from slmfleet.handlers.model_sync import LEGACY_FINALIZER
from slmfleet.handlers.runtime import Runtime, gpuclass_key, model_key, runtime
from slmfleet.reconcile.gpuclass import gpuclass_verdict, matching_nodes
from slmfleet.workqueue import Key

log = logging.getLogger(__name__)

NODE_DEBOUNCE_SECONDS = 1.0
# The generation of each class its users were last re-planned for: a status write (the class's
# list of users grows with every new model) must not re-plan every model of the fleet.
_planned: dict[str, Any] = {}


def users(rt: Runtime, name: str) -> list[dict[str, Any]]:
    """SmallModels whose spec.gpuClassName is ``name``, in the namespaces the operator watches
    (with watchNamespaces its roles reach no other)."""
    return [
        m
        for m in rt.cache.smallmodels()
        if (m.get("spec") or {}).get("gpuClassName") == name
        and watched((m.get("metadata") or {}).get("namespace"))
    ]


def refresh(rt: Runtime, body: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    models = sorted(
        (
            {"namespace": m["metadata"]["namespace"], "name": m["metadata"]["name"]}
            for m in users(rt, meta["name"])
        ),
        key=lambda ref: (ref["namespace"], ref["name"]),
    )
    try:
        gpuclass = parse_gpuclass(body)
    except SpecError as err:
        verdict, nodes = gpuclass_verdict(None, 0, "; ".join(err.errors)), 0
    else:
        nodes = matching_nodes(gpuclass.spec, rt.cache.nodes())
        verdict = gpuclass_verdict(gpuclass.spec, nodes, None)
    before = body.get("status") or {}
    generation = int(meta.get("generation") or 0)
    previous = before.get("conditions") or []
    conditions, transitions = conditions_for(verdict, previous, generation, datetime.now(UTC))
    status = {
        "conditions": conditions,
        "observedGeneration": generation,
        "matchingNodes": nodes,
        "models": models,
    }
    GPUClassStatus.model_validate(status)  # fail here, not at the API server, if the shape drifts
    if plain({k: before.get(k) for k in status}) != status:
        rt.kube.merge_patch("GPUClass", meta["name"], {"status": status}, subresource="status")
    post_transitions(body, transitions, rt.events)


def handle_gpuclass(key: Key) -> float | None:
    """Refresh one class's status; re-checked at the GPUClass resync interval."""
    rt = runtime()
    body = rt.cache.gpuclass(key[1])
    if body is None:
        return None
    finalizers = list(body["metadata"].get("finalizers") or [])
    if LEGACY_FINALIZER in finalizers:
        rest = [f for f in finalizers if f != LEGACY_FINALIZER]
        rt.kube.merge_patch("GPUClass", key[1], {"metadata": {"finalizers": rest}})
    refresh(rt, body)
    return settings().gpuclass_resync_seconds


@kopf.on.event(GROUP, VERSION, "gpuclasses")
async def on_event(name: str | None, body: kopf.Body, type: str | None, **_: Any) -> None:
    """A class created, changed or deleted: its status and every model that uses it."""
    if not SEEN.changed("GPUClass", body, type):
        return
    rt = runtime()
    rt.enqueue(gpuclass_key(str(name)))
    generation = (str(name), body.get("metadata", {}).get("generation"))
    if type != "DELETED" and _planned.get(str(name)) == generation[1]:
        return  # only its status changed (its users, matching nodes): no model plans differently
    _planned[str(name)] = generation[1]
    if type == "DELETED":
        _planned.pop(str(name), None)
    for model in users(rt, str(name)):
        meta = model["metadata"]
        rt.enqueue(model_key(str(meta.get("namespace") or ""), str(meta["name"])))


@kopf.on.event("", "v1", "nodes")
async def on_node_event(body: kopf.Body, type: str | None, **_: Any) -> None:
    """Nodes coming and going change how many nodes each class matches (a heartbeat does not)."""
    if not SEEN.changed("Node", body, type) or not NODE_INPUTS.changed(body, type):
        return
    rt = runtime()
    for gpuclass in rt.cache.gpuclasses():
        rt.enqueue(gpuclass_key(str(gpuclass["metadata"]["name"])), NODE_DEBOUNCE_SECONDS)
