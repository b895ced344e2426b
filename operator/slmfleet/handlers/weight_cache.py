"""The weight caches of a namespace: download progress into the models' status, and the
deletion of caches nobody uses (key ``weights/NS``).

While a download Job runs, its pod's GET /progress is read every PROGRESS_POLL_SECONDS and each
model that uses the cache is enqueued when it changed (its plan writes status.cache). A cache no
SmallModel asks for and no engine Deployment mounts is marked with the time it went unused and
deleted (Job, then claim) once its grace period is over; used again before that, the mark goes.
A ReadWriteOnce claim gets the node its download ran on (reconcile/cache_node.py).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from slmfleet.builders.labels import label_selector
from slmfleet.handlers.runtime import Runtime, model_key
from slmfleet.reconcile.cache_node import claim_node, node_to_record, read_write_once
from slmfleet.reconcile.weight_cache import job_finished, plan_unused
from slmfleet.weights.names import (
    CACHE_NODE_ANNOTATION,
    PROGRESS_PORT,
    UNUSED_SINCE_ANNOTATION,
    WEIGHTS_LABEL,
    cache_name,
)
from slmfleet.workqueue import Key

log = logging.getLogger(__name__)

PROGRESS_POLL_SECONDS = 2.0
PROGRESS_TIMEOUT_SECONDS = 1.0

_progress: dict[tuple[str, str], dict[str, Any]] = {}
_lock = threading.Lock()


def weights_key(namespace: str) -> Key:
    return ("weights", namespace)


def progress_of(namespace: str, name: str) -> dict[str, Any]:
    """The last progress read from the cache's download (empty when none was read)."""
    with _lock:
        return dict(_progress.get((namespace, name)) or {})


def models_by_cache(models: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Cache name -> the SmallModels whose spec asks for it (download caches only)."""
    out: dict[str, list[str]] = {}
    for body in models:
        spec = body.get("spec") or {}
        cache = spec.get("cache")
        hf = (spec.get("source") or {}).get("huggingFace") or {}
        if cache is None or cache.get("image") or not hf.get("repo") or not hf.get("revision"):
            continue
        name = cache_name(str(hf["repo"]), str(hf["revision"]))
        out.setdefault(name, []).append(str(body["metadata"]["name"]))
    return out


def _active(job: Mapping[str, Any] | None) -> bool:
    return job is not None and not job_finished(job)


def read_progress(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """GET /progress of the cache's running download pod, or None when none answers."""
    running = [
        p for p in pods if (p.get("status") or {}).get("phase") == "Running"
        and (p.get("status") or {}).get("podIP")
    ]  # fmt: skip
    for pod in sorted(running, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        url = f"http://{pod['status']['podIP']}:{PROGRESS_PORT}/progress"
        try:
            with urllib.request.urlopen(url, timeout=PROGRESS_TIMEOUT_SECONDS) as resp:
                return dict(json.loads(resp.read()))
        except (OSError, ValueError) as err:
            log.debug("no progress from %s: %s", url, err)
    return None


def _download_pods(rt: Runtime, namespace: str, name: str) -> list[dict[str, Any]]:
    return rt.kube.list("Pod", namespace, label_selector({WEIGHTS_LABEL: name}))


def _poll(
    rt: Runtime, namespace: str, name: str, pods: list[dict[str, Any]], users: list[str]
) -> None:
    progress = read_progress(pods)
    if progress is None:
        return
    with _lock:
        before = _progress.get((namespace, name))
        _progress[(namespace, name)] = progress
    if progress != before:
        for model in users:
            rt.enqueue(model_key(namespace, model))


def _used(rt: Runtime, namespace: str, wanted: Mapping[str, list[str]]) -> set[str]:
    """Caches a model asks for, and caches an engine Deployment still mounts."""
    used = set(wanted)
    for dep in rt.cache.namespace_deployments(namespace):
        label = ((dep.get("metadata") or {}).get("labels") or {}).get(WEIGHTS_LABEL)
        if label:
            used.add(label)
    return used


def _delete(rt: Runtime, namespace: str, name: str) -> None:
    log.info("deleting the unused weight cache %s/%s", namespace, name)
    rt.kube.delete("Job", name, namespace, propagation="Background")
    rt.kube.delete("PersistentVolumeClaim", name, namespace)
    with _lock:
        _progress.pop((namespace, name), None)


def _needs_node(claim: Mapping[str, Any]) -> bool:
    """A ReadWriteOnce claim whose node neither the scheduler nor an earlier pass recorded."""
    return read_write_once(claim) and claim_node(claim) is None


def _record_node(
    rt: Runtime,
    namespace: str,
    claim: Mapping[str, Any],
    job: Mapping[str, Any] | None,
    pods: list[dict[str, Any]],
) -> None:
    """Write on a ReadWriteOnce claim the node its download ran on (cache_node.py)."""
    name = str(claim["metadata"]["name"])
    node = node_to_record(claim, job, pods)
    if node is not None:
        patch = {"metadata": {"annotations": {CACHE_NODE_ANNOTATION: node}}}
        rt.kube.merge_patch("PersistentVolumeClaim", name, patch, namespace)


def sync_weights(rt: Runtime, namespace: str) -> float | None:
    """Poll running downloads, record where ReadWriteOnce caches are, mark and delete unused
    caches; seconds until due again."""
    wanted = models_by_cache(rt.cache.smallmodels(namespace))
    claims = rt.cache.weight_claims(namespace)
    due: float | None = None
    for claim in claims:
        name = str(claim["metadata"]["name"])
        job = rt.cache.weight_job(namespace, name)
        active, needs_node = _active(job), _needs_node(claim)
        pods = _download_pods(rt, namespace, name) if active or needs_node else []  # one read
        if needs_node:
            _record_node(rt, namespace, claim, job, pods)
        if active:
            _poll(rt, namespace, name, pods, wanted.get(name, []))
            due = PROGRESS_POLL_SECONDS
    unused = plan_unused(claims, _used(rt, namespace, wanted), datetime.now(UTC))
    for name, since in unused.mark.items():
        patch = {"metadata": {"annotations": {UNUSED_SINCE_ANNOTATION: since}}}
        rt.kube.merge_patch("PersistentVolumeClaim", name, patch, namespace)
    for name in unused.delete:
        _delete(rt, namespace, name)
    if unused.next_due is not None:
        due = unused.next_due if due is None else min(due, unused.next_due)
    return due
