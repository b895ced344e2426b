"""A ReadWriteOnce weight cache lives on one node; the engine pods that mount it run there (pure).

A ReadWriteOnce volume is mounted by the pods of one node at a time. A Deployment cannot give
each node a claim of its own (every replica of a revision mounts the same claim), so instead of
one cache per node, the engine pods of every revision that mounts the cache are pinned to the
node the cache is on, with a required node affinity: replicas are limited to that node's GPUs.

Which node: the claim's ``volume.kubernetes.io/selected-node`` (the scheduler sets it when a
WaitForFirstConsumer volume is bound for its first pod, the download's: local volumes and most
block storage classes), else the node of the download's pod, which the weights pass records on
the claim (``slmfleet.io/cache-node``; empty when the download's pods were gone before it could
tell: then nothing is pinned).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from slmfleet.conditions import Verdict
from slmfleet.reconcile.weight_cache import job_finished
from slmfleet.weights.names import CACHE_NODE_ANNOTATION, SELECTED_NODE_ANNOTATION

READ_WRITE_ONCE = "ReadWriteOnce"
NODE_FULL = "CacheNodeFull"
"""The Ready reason when replicas wait for GPUs on the node a ReadWriteOnce cache pins them to."""


def read_write_once(claim: Mapping[str, Any] | None) -> bool:
    return READ_WRITE_ONCE in ((claim or {}).get("spec") or {}).get("accessModes", [])


def claim_node(claim: Mapping[str, Any] | None) -> str | None:
    """The node the cache's volume is on: a name, "" when it could not be told (nothing is
    pinned), None while not known yet."""
    annotations = ((claim or {}).get("metadata") or {}).get("annotations") or {}
    selected = annotations.get(SELECTED_NODE_ANNOTATION)
    if selected:
        return str(selected)
    recorded = annotations.get(CACHE_NODE_ANNOTATION)
    return None if recorded is None else str(recorded)


def node_to_record(
    claim: Mapping[str, Any] | None,
    job: Mapping[str, Any] | None,
    pods: Iterable[Mapping[str, Any]],
) -> str | None:
    """The node annotation the weights pass writes on a ReadWriteOnce claim: the node of the
    download's latest pod; "" once the Job finished and no pod tells; None: nothing to write."""
    if not read_write_once(claim) or claim_node(claim) is not None:
        return None
    placed = [p for p in pods if (p.get("spec") or {}).get("nodeName")]
    if placed:
        latest = max(placed, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
        return str(latest["spec"]["nodeName"])
    return "" if job_finished(job) else None


def pin(deployment: Mapping[str, Any], node: str) -> dict[str, Any]:
    """``deployment`` with its pods required on ``node`` (added after the revision's hash: where
    the volume is is not what the spec asks for)."""
    out = copy.deepcopy(dict(deployment))
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    required = {"nodeSelectorTerms": [term]}
    out["spec"]["template"]["spec"]["affinity"] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}
    }
    return out


def pinned_verdict(verdict: Verdict, cache: str, node: str) -> Verdict:
    """The model's verdict saying that its replicas run on ``node`` only; replicas waiting for
    GPUs there are ``CacheNodeFull`` (a Warning Event), not just Unschedulable."""
    where = f"the ReadWriteOnce weight cache {cache} is on node {node}: replicas run there only"
    if verdict.reason == "Unschedulable":
        message = f"{verdict.message}; {where}, and it has no room for more"
        return dataclasses.replace(verdict, reason=NODE_FULL, message=message, warning=True)
    return dataclasses.replace(verdict, message=f"{verdict.message}; {where}")
