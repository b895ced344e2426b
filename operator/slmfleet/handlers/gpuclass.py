"""GPUClass handlers: report matching nodes and users, and re-plan every SmallModel that uses it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.api.errors import SpecError
from slmfleet.api.gpuclass import GPUClassStatus
from slmfleet.api.parse import parse_gpuclass
from slmfleet.conditions import conditions_for
from slmfleet.config import settings, watched
from slmfleet.handlers.clients import kube_client
from slmfleet.handlers.events import post_transitions
from slmfleet.handlers.smallmodel import reconcile
from slmfleet.k8s import Kube
from slmfleet.reconcile.gpuclass import gpuclass_verdict, matching_nodes

log = logging.getLogger(__name__)


def users(kube: Kube, name: str) -> list[dict[str, Any]]:
    """SmallModels whose spec.gpuClassName is ``name``, in the namespaces the operator watches
    (with watchNamespaces its roles reach no other)."""
    return [
        m
        for m in kube.list("SmallModel")
        if (m.get("spec") or {}).get("gpuClassName") == name
        and watched((m.get("metadata") or {}).get("namespace"))
    ]


def replan_users(kube: Kube, name: str) -> None:
    for model in users(kube, name):
        meta = model["metadata"]
        try:
            reconcile(kube, model)
        except Exception as err:
            log.warning("re-planning %s/%s failed: %s", meta.get("namespace"), meta["name"], err)


def refresh(kube: Kube, body: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    models = sorted(
        (
            {"namespace": m["metadata"]["namespace"], "name": m["metadata"]["name"]}
            for m in users(kube, meta["name"])
        ),
        key=lambda ref: (ref["namespace"], ref["name"]),
    )
    try:
        gpuclass = parse_gpuclass(body)
    except SpecError as err:
        verdict, nodes = gpuclass_verdict(None, 0, "; ".join(err.errors)), 0
    else:
        nodes = matching_nodes(gpuclass.spec, kube.list("Node"))
        verdict = gpuclass_verdict(gpuclass.spec, nodes, None)
    previous = (body.get("status") or {}).get("conditions") or []
    generation = int(meta.get("generation") or 0)
    conditions, transitions = conditions_for(verdict, previous, generation, datetime.now(UTC))
    status = {
        "conditions": conditions,
        "observedGeneration": generation,
        "matchingNodes": nodes,
        "models": models,
    }
    GPUClassStatus.model_validate(status)  # fail here, not at the API server, if the shape drifts
    kube.merge_patch("GPUClass", meta["name"], {"status": status}, subresource="status")
    post_transitions(body, transitions)


@kopf.on.resume(GROUP, VERSION, "gpuclasses")
@kopf.on.create(GROUP, VERSION, "gpuclasses")
@kopf.on.update(GROUP, VERSION, "gpuclasses", field="spec")
def on_change(body: kopf.Body, name: str, **_: Any) -> None:
    kube = kube_client()
    refresh(kube, body)
    replan_users(kube, name)


@kopf.on.event(GROUP, VERSION, "gpuclasses")
def on_event(type: str | None, name: str, **_: Any) -> None:
    """A deleted GPUClass: its models report GPUClassNotFound; their replicas are left alone.

    Watching DELETED events needs no finalizer, so deleting a class is never blocked.
    """
    if type == "DELETED":
        replan_users(kube_client(), name)


@kopf.timer(GROUP, VERSION, "gpuclasses", interval=settings().gpuclass_resync_seconds)
def on_timer(body: kopf.Body, **_: Any) -> None:
    refresh(kube_client(), body)
