"""status.history (pure): the last N revisions that served, newest first, finding one, and the
spec patch that restores it (a manual rollback).

A JSON merge patch only adds and overwrites, so keys present now but absent from the restored spec
are set to null (deleted); lists are replaced whole. ``replicas`` is left alone: it belongs to
whoever scales the model, not to a revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmfleet.api.rollout_status import HistoryEntry

NOT_RESTORED = ("replicas",)


def push(
    history: tuple[HistoryEntry, ...], entry: HistoryEntry, limit: int
) -> tuple[HistoryEntry, ...]:
    """``entry`` first, an older entry of the same revision dropped, at most ``limit`` kept."""
    rest = tuple(h for h in history if h.revision != entry.revision)
    return (entry, *rest)[:limit]


def resolve(history: tuple[HistoryEntry, ...], target: str) -> HistoryEntry | None:
    """A revision hash, or an index counting back from the serving revision (0 = serving,
    1 = the one before, ...)."""
    for entry in history:
        if entry.revision == target:
            return entry
    if target.isdigit() and int(target) < len(history):
        return history[int(target)]
    return None


def replacement_patch(current: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key in current.keys() - target.keys():
        patch[key] = None
    for key, value in target.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            inner = replacement_patch(old, value)
            if inner:
                patch[key] = inner
        elif value != old:
            patch[key] = value
    return patch


def restore_patch(current: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The spec patch restoring ``target``, keeping the current replicas."""
    keep = {k: current[k] for k in NOT_RESTORED if k in current}
    wanted = {k: v for k, v in target.items() if k not in NOT_RESTORED}
    return replacement_patch(current, {**wanted, **keep})
