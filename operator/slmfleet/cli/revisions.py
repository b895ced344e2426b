"""What each kept revision of a SmallModel is, and how two of them differ (pure text renderers).

A revision is status.history's entry: its pod-template hash and the spec that produced it.
`history_text` says for each what it serves (repo@revision, quantization, engine image) and which
spec fields changed from the revision before it; `diff_text` puts two specs side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmfleet.api.rollout_status import HistoryEntry
from slmfleet.rollout.history import resolve

DEFAULT_IMAGE = "(operator default)"
_SHORT_REVISION = 12


def entries(body: Mapping[str, Any]) -> tuple[HistoryEntry, ...]:
    """status.history of a SmallModel body, newest (serving) first."""
    history = (body.get("status") or {}).get("history") or []
    return tuple(HistoryEntry.model_validate(h) for h in history)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values; list items are addressed as path[i]."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Paths whose value differs between two specs (added and removed ones included)."""
    a, b = flatten(old), flatten(new)
    return sorted(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))


def source_text(spec: Mapping[str, Any]) -> str:
    """repo@revision (the revision shortened), or claim:path for PVC weights."""
    source = spec.get("source") or {}
    hf = source.get("huggingFace")
    if hf:
        return f"{hf.get('repo', '?')}@{str(hf.get('revision', '?'))[:_SHORT_REVISION]}"
    pvc = source.get("pvc") or {}
    return f"pvc {pvc.get('claimName', '?')}:{pvc.get('path', '')}"


def summary(entry: HistoryEntry, older: HistoryEntry | None) -> dict[str, Any]:
    """One revision as data: what it serves and what changed from the one before it."""
    spec = entry.spec
    return {
        "revision": entry.revision,
        "promotedAt": entry.promoted_at,
        "source": source_text(spec),
        "quantization": spec.get("quantization", "none"),
        "image": (spec.get("engine") or {}).get("image") or DEFAULT_IMAGE,
        "changed": changed_fields(older.spec, spec) if older is not None else [],
    }


def history_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every kept revision as a summary, newest first, with its index."""
    kept = entries(body)
    return [
        {"index": i, **summary(entry, kept[i + 1] if i + 1 < len(kept) else None)}
        for i, entry in enumerate(kept)
    ]


def history_text(body: Mapping[str, Any]) -> str:
    """The revisions kept for rollback, newest (serving) first, with their index."""
    rows = history_rows(body)
    header = ("INDEX", "REVISION", "PROMOTED", "SOURCE", "QUANT", "IMAGE", "CHANGED")
    cells = [
        (
            str(r["index"]),
            r["revision"],
            r["promotedAt"] or "-",
            r["source"],
            r["quantization"],
            r["image"],
            ", ".join(r["changed"]) or "-",
        )
        for r in rows
    ]
    return "\n".join(_columns([header, *cells]))


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def diff_text(body: Mapping[str, Any], first: str, second: str) -> tuple[str, bool]:
    """The spec fields in which two kept revisions differ, side by side; False if one is unknown.

    `first` and `second` are revision hashes or history indexes (0 = serving, 1 = before it).
    """
    kept = entries(body)
    a, b = resolve(kept, first), resolve(kept, second)
    missing = [t for t, e in ((first, a), (second, b)) if e is None]
    if a is None or b is None:
        known = ", ".join(e.revision for e in kept) or "none"
        return f"error: no kept revision {', '.join(missing)} (kept: {known})", False
    left, right = flatten(a.spec), flatten(b.spec)
    paths = changed_fields(a.spec, b.spec)
    if not paths:
        return f"revisions {a.revision} and {b.revision} have the same spec", True
    rows = [("FIELD", a.revision, b.revision)]
    rows += [(p, _cell(left, p), _cell(right, p)) for p in paths]
    return "\n".join(_columns(rows)), True


def _cell(values: Mapping[str, Any], path: str) -> str:
    return "(unset)" if path not in values else str(values[path])
