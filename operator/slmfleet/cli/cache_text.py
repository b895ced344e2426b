"""`kubectl slm status` lines about the weight cache and the last cold start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _seconds(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return "-" if value is None else f"{float(value):g}s"


def cache_lines(status: Mapping[str, Any]) -> list[str]:
    """The cache and its download progress; the newest revision's cold start, by part."""
    lines = []
    cache = status.get("cache") or {}
    if cache:
        what = cache.get("progress") or cache.get("phase") or "-"
        lines.append(f"  cache    {cache.get('name', '-')} {cache.get('phase', '-')}: {what}")
        if cache.get("node"):
            lines.append(f"           ReadWriteOnce: replicas run on node {cache['node']} only")
        if cache.get("message"):
            lines.append(f"           {cache['message']}")
    starts = status.get("coldStarts") or []
    if starts:
        s = starts[0]
        lines.append(
            f"  cold start {s.get('revision')}: download {_seconds(s, 'downloadSeconds')}, "
            f"schedule {_seconds(s, 'scheduleSeconds')}, load {_seconds(s, 'loadSeconds')}, "
            f"total {_seconds(s, 'totalSeconds')}"
        )
    return lines
