"""How long a revision took to serve (pure): from its first pod's creation to Ready, by part.

Recorded once per revision, when its first pod becomes Ready, from the pod's own timestamps
(creation; ``status.startTime``, when its node's kubelet took it up, else the PodScheduled
transition; the Ready transition) and, with a weight cache, the time the
revision waited for the cache's download (the download Job's start to completion, counted only
for the revision that waited for it; a warm cache counts 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.timefmt import parse_time

KEEP = 5


def _time(text: Any) -> datetime | None:
    try:
        return parse_time(str(text)) if text else None
    except ValueError:
        return None


def _transition(pod: Mapping[str, Any], kind: str) -> datetime | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return _time(cond.get("lastTransitionTime"))
    return None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 2)


def download_seconds(cache: Mapping[str, Any] | None, revision: str) -> float | None:
    """Seconds ``revision`` waited for its cache: None without one, 0 when it was warm."""
    if cache is None:
        return None
    if cache.get("waitingRevision") != revision:
        return 0.0
    return _seconds(_time(cache.get("startedAt")), _time(cache.get("completedAt"))) or 0.0


def cold_start(
    revision: str, pods: Iterable[Mapping[str, Any]], cache: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The entry for ``revision`` once one of its pods is Ready (the earliest created one)."""
    ready = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get(REVISION_LABEL) != revision:
            continue
        created, at = _time(meta.get("creationTimestamp")), _transition(pod, "Ready")
        if created is not None and at is not None:
            ready.append((created, at, pod))
    if not ready:
        return None
    created, at, pod = min(ready, key=lambda r: r[0])
    started = _time((pod.get("status") or {}).get("startTime"))
    scheduled = started or _transition(pod, "PodScheduled")
    download = download_seconds(cache, revision)
    total = (_seconds(created, at) or 0.0) + (download or 0.0)
    entry = {
        "revision": revision,
        "podCreatedAt": (pod.get("metadata") or {}).get("creationTimestamp"),
        "downloadSeconds": download,
        "scheduleSeconds": _seconds(created, scheduled),
        "loadSeconds": _seconds(scheduled or created, at),
        "totalSeconds": round(total, 2),
        "cached": cache is not None,
    }
    return {k: v for k, v in entry.items() if v is not None}


def record(
    previous: Sequence[Mapping[str, Any]],
    revision: str,
    pods: Iterable[Mapping[str, Any]],
    cache: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """``previous`` with ``revision``'s entry added first once it can be measured."""
    out = [dict(e) for e in previous]
    if any(e.get("revision") == revision for e in out):
        return out
    entry = cold_start(revision, pods, cache)
    return [entry, *out][:KEEP] if entry is not None else out


def _entry(starts: Sequence[Mapping[str, Any]], revision: str | None) -> Mapping[str, Any] | None:
    entry = next((s for s in starts if s.get("revision") == revision), None)
    return entry if entry is not None and entry.get("totalSeconds") is not None else None


def expected_seconds(starts: Sequence[Mapping[str, Any]], revision: str | None) -> float | None:
    """Seconds a new pod of ``revision`` is expected to take, from its recorded cold start: the
    pod part only when its weights are cached (the cache stays warm), all of it otherwise."""
    entry = _entry(starts, revision)
    if entry is None:
        return None
    return float(entry["totalSeconds"]) - float(entry.get("downloadSeconds") or 0.0)


def expected_start(starts: Sequence[Mapping[str, Any]], revision: str | None) -> str | None:
    """``expected_seconds`` in words, for the autoscaler's ScaleFromZero message."""
    seconds = expected_seconds(starts, revision)
    entry = _entry(starts, revision)
    if seconds is None or entry is None:
        return None
    where = "weights cached" if entry.get("cached") else "weights downloaded by the engine"
    return f"its last cold start took {seconds:g} s ({where})"
