"""A model's engine waits for its weight cache (pure): the decision while it fills, the status
once it is complete.

While the cache of the spec's (repo, revision) is not complete, the model's plan creates the
cache's claim and download Job (when missing) and nothing else: running revisions are left as
they are, and the new revision's Deployment (which would hold GPUs) comes once the weights are
there. A cache that cannot become complete makes the model Stalled with the reason. A
ReadWriteOnce cache also needs the node it is on (cache_node.py) before the engine may go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.weight_cache import claim, download_job
from slmfleet.conditions import Verdict
from slmfleet.planner import MemoryPlan
from slmfleet.reconcile.cache_node import claim_node, read_write_once
from slmfleet.reconcile.weight_cache import CacheView, WeightsObserved, cache_request, cache_view

DOWNLOADING = "DownloadingWeights"


@dataclass(frozen=True)
class Gate:
    """Either the engine may go on (``waiting`` False), or what to do while it may not."""

    waiting: bool
    children: tuple[dict[str, Any], ...] = ()
    verdict: Verdict | None = None
    status: dict[str, Any] | None = None
    """status.cache (also set once complete)."""
    node: str | None = None
    """The node a complete ReadWriteOnce cache is on: the engine's pods run there only."""


def _sticky_waiting(model: SmallModel, view: CacheView, revision: str | None) -> dict[str, Any]:
    """Which revision waited for this cache: kept while the cache stays the same."""
    before = model.status.cache
    if before is not None and before.name == view.name and before.waiting_revision:
        return {"waitingRevision": before.waiting_revision}
    return {"waitingRevision": revision} if revision and not view.complete else {}


def weights_gate(
    model: SmallModel,
    weights: WeightsObserved | None,
    plan: MemoryPlan,
    gpuclass: GPUClassSpec | None,
    revision: str,
) -> Gate:
    """Whether the engine of ``revision`` may be planned, given the model's weight cache."""
    req = cache_request(model, plan.weights_bytes, gpuclass)
    if req is None or weights is None:
        return Gate(False)
    view = cache_view(
        req, weights.claim, weights.job, weights.progress, weights.storage_problem,
        plan.weights_bytes,
    )  # fmt: skip
    status = {**view.status, **_sticky_waiting(model, view, revision)}
    node = claim_node(weights.claim) if read_write_once(weights.claim) else ""
    if node:
        status["node"] = node
    if view.complete and node is None:
        message = (
            f"weights of {req.repo}@{req.revision} are in {view.name}; waiting for the node its "
            "ReadWriteOnce volume is on to be recorded"
        )
        return Gate(True, (), Verdict(False, DOWNLOADING, message, reconciling=True), status)
    if view.complete:
        return Gate(False, status=status, node=node or None)
    if view.problem is not None:
        message = (
            f"weight cache {view.name}: {view.problem}. Running replicas are left as they are."
        )
        return Gate(True, (), Verdict(False, view.reason, message, stalled=True), status)
    children: list[dict[str, Any]] = []
    if weights.claim is None:
        children.append(claim(req))
    if weights.job is None and weights.storage_problem is None:
        children.append(download_job(req, weights.downloader_image, weights.hub_endpoint))
    message = f"downloading weights of {req.repo}@{req.revision} into {view.name}: " + str(
        status.get("progress") or "pending"
    )
    return Gate(
        True, tuple(children), Verdict(False, DOWNLOADING, message, reconciling=True), status
    )
