"""What the caches keep of each object: the fields the operator reads, in the API's own shape.

A slim object is a subset of the object as the API serves it, so the same readers work on both,
and memory per cached object stays bounded (no managedFields, no pod specs, no unrelated labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slmfleet import GROUP
from slmfleet.rollout.state import ANNOTATIONS
from slmfleet.weights.names import SELECTED_NODE_ANNOTATION

APPLIED_HASH = f"{GROUP}/applied-hash"
READ_ANNOTATIONS = frozenset((*ANNOTATIONS, APPLIED_HASH))


def _pick(source: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, Any]:
    source = source or {}
    return {k: source[k] for k in keys if source.get(k) is not None}


def _ours(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels under the operator's group and the app.kubernetes.io ones it selects on."""
    return {
        k: v
        for k, v in (labels or {}).items()
        if k.startswith((f"{GROUP}/", "app.kubernetes.io/", "kubernetes.io/"))
    }


def _meta(body: Mapping[str, Any], *extra: str) -> dict[str, Any]:
    meta = body.get("metadata") or {}
    keep = ("name", "namespace", "uid", "generation", "resourceVersion", "deletionTimestamp")
    out = _pick(meta, (*keep, "creationTimestamp", *extra))
    out["labels"] = _ours(meta.get("labels"))
    owners = meta.get("ownerReferences") or []
    if owners:
        out["ownerReferences"] = [_pick(o, ("kind", "name", "uid", "controller")) for o in owners]
    return out


def _annotations(meta: Mapping[str, Any]) -> dict[str, str]:
    """Only the annotations the operator reads (requests like promote/abort, the applied hash)."""
    return {k: v for k, v in (meta.get("annotations") or {}).items() if k in READ_ANNOTATIONS}


def custom_resource(body: Mapping[str, Any]) -> dict[str, Any]:
    """SmallModels, ModelRoutes, GPUClasses and EvalSuites: spec and status are read whole."""
    meta = _meta(body, "finalizers")
    meta["annotations"] = _annotations(body.get("metadata") or {})
    out: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": meta,
        "spec": dict(body.get("spec") or {}),
    }
    if body.get("status"):
        out["status"] = dict(body["status"])
    return out


def deployment(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = _meta(body)
    meta["annotations"] = _annotations(body.get("metadata") or {})
    spec = _pick(body.get("spec"), ("replicas",))
    status = _pick(
        body.get("status"), ("observedGeneration", "replicas", "readyReplicas", "updatedReplicas")
    )
    return {"metadata": meta, "spec": spec, "status": status}


def disruption_budget(body: Mapping[str, Any]) -> dict[str, Any]:
    """A PodDisruptionBudget: that it exists, and whose it is (owners, labels, uid)."""
    return {"metadata": _meta(body)}


def _container_ports(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for container in (body.get("spec") or {}).get("containers") or []:
        ports = [_pick(p, ("name", "containerPort")) for p in container.get("ports") or []]
        out.append({"name": container.get("name"), "ports": ports})
    return out


def pod(body: Mapping[str, Any]) -> dict[str, Any]:
    status = body.get("status") or {}
    conditions = [
        _pick(c, ("type", "status", "reason", "message", "lastTransitionTime"))
        for c in status.get("conditions") or []
        if c.get("type") in ("Ready", "PodScheduled")
    ]
    return {
        "metadata": _meta(body),
        "spec": {"containers": _container_ports(body)},
        "status": {**_pick(status, ("phase", "podIP", "startTime")), "conditions": conditions},
    }


def endpoint_slice(body: Mapping[str, Any]) -> dict[str, Any]:
    endpoints = [
        {
            "addresses": list(e.get("addresses") or []),
            "conditions": _pick(e.get("conditions"), ("ready",)),
        }
        for e in body.get("endpoints") or []
    ]
    ports = [_pick(p, ("name", "port")) for p in body.get("ports") or []]
    return {"metadata": _meta(body), "endpoints": endpoints, "ports": ports}


def node(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body.get("metadata") or {}
    return {
        "metadata": {"name": meta.get("name"), "labels": dict(meta.get("labels") or {})},
        "spec": _pick(body.get("spec"), ("taints",)),
        "status": _pick(body.get("status"), ("allocatable",)),
    }


def weight_claim(body: Mapping[str, Any]) -> dict[str, Any]:
    """A weight cache's claim: its access mode, phase and capacity, the unused-since mark and
    the node a ReadWriteOnce volume is on."""
    meta = _meta(body)
    meta["annotations"] = {
        k: v
        for k, v in ((body.get("metadata") or {}).get("annotations") or {}).items()
        if k.startswith(f"{GROUP}/") or k == SELECTED_NODE_ANNOTATION
    }
    return {
        "metadata": meta,
        "spec": _pick(body.get("spec"), ("accessModes",)),
        "status": _pick(body.get("status"), ("phase", "capacity")),
    }


def weight_job(body: Mapping[str, Any]) -> dict[str, Any]:
    """A weight cache's download Job: its progress counters, times and conditions."""
    status = body.get("status") or {}
    keys = ("active", "succeeded", "failed", "startTime", "completionTime")
    conditions = [
        _pick(c, ("type", "status", "reason", "message")) for c in status.get("conditions") or []
    ]
    return {"metadata": _meta(body), "status": {**_pick(status, keys), "conditions": conditions}}
