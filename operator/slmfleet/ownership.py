"""Touch only what is ours: the check before a forced server-side apply or a delete.

Every child the operator makes is named after its owner (a Service `qwen`, an HPA `qwen`, the
router `slmfleet-router`). A user's object of the same name must never be taken over by a forced
apply nor deleted: the operator first reads the existing object and goes on only when it is
absent or ours (an ownerReference to the same owner, our managed-by label, or our field manager);
otherwise it reports a `NameConflict` and touches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slmfleet import FIELD_MANAGER
from slmfleet.builders.labels import MANAGED_BY
from slmfleet.k8s import Kube

OURS = "slmfleet"
NAME_CONFLICT = "NameConflict"


class NameConflictError(Exception):
    """An object of the name the operator needs exists and belongs to someone else."""

    def __init__(self, kind: str, name: str, namespace: str | None) -> None:
        where = f"{namespace}/{name}" if namespace else name
        super().__init__(
            f"{kind} {where} exists and is not managed by slmfleet; rename or delete it "
            "(the operator leaves it untouched)"
        )
        self.kind, self.name, self.namespace = kind, name, namespace


def owner_uids(obj: Mapping[str, Any]) -> set[str]:
    """The uids of an object's ownerReferences."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {str(r.get("uid")) for r in refs if r.get("uid")}


def owned_by_us(existing: Mapping[str, Any] | None, owners: Iterable[str] = ()) -> bool:
    """True when nothing is there, or the object is ours: owned by one of ``owners`` (uids),
    labelled managed-by slmfleet, or written by the operator's field manager."""
    if existing is None:
        return True
    meta = existing.get("metadata") or {}
    if owner_uids(existing) & set(owners):
        return True
    if (meta.get("labels") or {}).get(MANAGED_BY) == OURS:
        return True
    return any(m.get("manager") == FIELD_MANAGER for m in meta.get("managedFields") or [])


def _check(kube: Kube, kind: str, name: str, namespace: str | None, owners: Iterable[str]) -> bool:
    """Whether the object exists; NameConflictError when it is someone else's."""
    existing = kube.get(kind, name, namespace)
    if not owned_by_us(existing, owners):
        raise NameConflictError(kind, name, namespace)
    return existing is not None


def apply_owned(kube: Kube, objects: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``objects`` (force) after checking every one of them: one conflict and none is
    touched."""
    for obj in objects:
        meta = obj["metadata"]
        _check(kube, obj["kind"], meta["name"], meta.get("namespace"), owner_uids(obj))
    for obj in objects:
        kube.apply(obj)


def delete_owned(
    kube: Kube, kind: str, name: str, namespace: str | None, owners: Iterable[str] = ()
) -> bool:
    """Delete the object if it is ours; False when it was not there, NameConflictError when it is
    someone else's."""
    if not _check(kube, kind, name, namespace, owners):
        return False
    return kube.delete(kind, name, namespace)
