"""The weight cache, decided purely: what a model asks for, how far its cache is, which
caches are unused and when they go.

A model with ``spec.cache`` asks for the cache of its (repo, revision) (``cache_request``); its
engine Deployment is planned only once that cache is Complete (``CacheView.complete``), so no
GPU is held while weights download. Caches no model asks for and no engine Deployment mounts
are marked unused and deleted after their grace period (``plan_unused``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.quantity import parse_quantity
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.weight_cache import CacheRequest
from slmfleet.timefmt import format_time, parse_time
from slmfleet.weights.names import (
    GRACE_ANNOTATION,
    UNUSED_SINCE_ANNOTATION,
    allow_patterns,
    needed_bytes,
    size_quantity,
)

MIB = 1024**2


def cache_request(
    model: SmallModel, weights_bytes: int, gpuclass: GPUClassSpec | None
) -> CacheRequest | None:
    """The download cache ``model`` asks for, or None (no spec.cache, or an image volume)."""
    spec = model.spec
    hf = spec.source.hugging_face
    if spec.cache is None or spec.cache.image is not None or hf is None:
        return None
    size = (
        spec.cache.size
        if spec.cache.size is not None
        else size_quantity(needed_bytes(weights_bytes))
    )
    rwo = spec.cache.access_mode == "ReadWriteOnce"
    selector = tuple(sorted(gpuclass.node_selector.items())) if rwo and gpuclass else ()
    return CacheRequest(
        namespace=model.metadata.namespace or "default",
        repo=hf.repo,
        revision=hf.revision,
        size=str(size),
        storage_class=spec.cache.storage_class_name,
        access_mode=spec.cache.access_mode,
        patterns=allow_patterns(spec.quantization),
        token=hf.token_secret_ref,
        grace_seconds=spec.cache.unused_grace_seconds,
        node_selector=selector,
    )


def too_small(req: CacheRequest, weights_bytes: int) -> str | None:
    """Why the requested size cannot hold the snapshot, or None."""
    need = needed_bytes(weights_bytes)
    if int(parse_quantity(req.size)) >= need:
        return None
    return (
        f"spec.cache.size {req.size} cannot hold the snapshot: the weights take "
        f"{weights_bytes / MIB:.0f} MiB, with tokenizer, config and headroom "
        f"{size_quantity(need)}; raise the size or leave it unset"
    )


@dataclass(frozen=True)
class CacheView:
    """A cache as the model's plan sees it."""

    name: str
    exists: bool
    complete: bool
    status: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why the cache cannot become complete (a missing StorageClass, a failed download)."""
    reason: str = ""


def _condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def job_finished(job: Mapping[str, Any] | None) -> bool:
    """The download (or any) Job has its Complete or Failed condition."""
    return job is not None and any(_condition(job, kind) for kind in ("Complete", "Failed"))


def _progress_text(p: Mapping[str, Any]) -> str:
    done, total = p.get("bytesDone"), p.get("bytesTotal")
    files = f"{p.get('filesDone') or 0}/{p['filesTotal']} files" if p.get("filesTotal") else ""
    if done is None or not total:
        return f"downloading, {files}" if files else "downloading"
    pct = 100 * done // total
    return f"{pct}% of {total / MIB:.1f} MiB" + (f", {files}" if files else "")


def _bytes_fields(progress: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("bytesDone", "bytesTotal", "filesDone", "filesTotal")
    return {k: progress[k] for k in keys if progress.get(k) is not None}


def cache_view(
    req: CacheRequest,
    claim: Mapping[str, Any] | None,
    job: Mapping[str, Any] | None,
    progress: Mapping[str, Any],
    storage_problem: str | None,
    weights_bytes: int,
) -> CacheView:
    """The cache's phase and status from its claim, its Job and the last progress read."""
    base: dict[str, Any] = {"name": req.name, "size": req.size, **_bytes_fields(progress)}
    small = too_small(req, weights_bytes)
    if small is not None:
        return CacheView(req.name, claim is not None, False, {**base, "phase": "Failed",
                         "message": small}, small, "CacheTooSmall")  # fmt: skip
    if storage_problem is not None and claim is None:
        status = {**base, "phase": "Failed", "message": storage_problem}
        return CacheView(req.name, False, False, status, storage_problem, "StorageClassNotFound")
    jstatus = (job or {}).get("status") or {}
    times = {"startedAt": jstatus.get("startTime"), "completedAt": jstatus.get("completionTime")}
    times = {k: v for k, v in times.items() if v}
    if job is not None and (_condition(job, "Complete") or int(jstatus.get("succeeded") or 0)):
        total = progress.get("bytesTotal")
        done = {"bytesDone": total} if total is not None else {}
        files = {"filesDone": progress["filesTotal"]} if progress.get("filesTotal") else {}
        status = {**base, **done, **files, **times, "phase": "Complete", "progress": "complete"}
        return CacheView(req.name, True, True, status)
    failed = _condition(job, "Failed") if job is not None else None
    if failed is not None:
        message = f"download failed: {failed.get('message') or failed.get('reason')}"
        status = {**base, **times, "phase": "Failed", "message": message, "progress": "failed"}
        return CacheView(req.name, True, False, status, message, "DownloadFailed")
    if claim is not None and (claim.get("status") or {}).get("phase") == "Pending":
        waiting = "waiting for the volume to be bound"
        return CacheView(req.name, True, False, {**base, "phase": "Pending", "progress": waiting})
    if job is None or not jstatus.get("startTime"):
        status = {**base, "phase": "Pending", "progress": "starting the download"}
        return CacheView(req.name, claim is not None, False, status)
    text = _progress_text(progress)
    if int(jstatus.get("failed") or 0):  # kept: a retry fetches only the files not complete
        text += f" (attempt {int(jstatus['failed']) + 1})"
    status = {**base, **times, "phase": "Downloading", "progress": text}
    return CacheView(req.name, True, False, status)


@dataclass(frozen=True)
class UnusedPlan:
    """What to do with the namespace's caches nobody uses."""

    mark: Mapping[str, str | None] = field(default_factory=dict)
    """Claim name -> the unused-since annotation to set (None: remove it, it is used again)."""
    delete: tuple[str, ...] = ()
    next_due: float | None = None


def plan_unused(claims: Iterable[Mapping[str, Any]], used: set[str], now: datetime) -> UnusedPlan:
    """Mark caches that went unused, clear the mark of used ones, delete those past grace."""
    mark: dict[str, str | None] = {}
    delete: list[str] = []
    due: float | None = None
    for claim in claims:
        meta = claim.get("metadata") or {}
        name = str(meta.get("name"))
        annotations = meta.get("annotations") or {}
        since = annotations.get(UNUSED_SINCE_ANNOTATION)
        if name in used:
            if since is not None:
                mark[name] = None
            continue
        if meta.get("deletionTimestamp"):
            continue
        grace = float(annotations.get(GRACE_ANNOTATION) or 3600)
        if since is None:
            mark[name] = format_time(now)
            left = grace
        else:
            try:
                left = grace - (now - parse_time(since)).total_seconds()
            except ValueError:  # not our timestamp: start the grace period again
                mark[name], left = format_time(now), grace
        if left <= 0:
            delete.append(name)
        else:
            due = left if due is None else min(due, left)
    return UnusedPlan(mark, tuple(delete), due)


@dataclass(frozen=True)
class WeightsObserved:
    """What the cache of a model's (repo, revision) looks like, as read by observe."""

    claim: Mapping[str, Any] | None = None
    job: Mapping[str, Any] | None = None
    progress: Mapping[str, Any] = field(default_factory=dict)
    storage_problem: str | None = None
    downloader_image: str = ""
    hub_endpoint: str | None = None
