"""Apply only what changed: server-side apply skipped when the object is already as planned.

An engine Deployment carries the hash of what was last applied (an annotation the cache keeps),
so a restarted operator does not re-apply a fleet's Deployments; other objects are remembered
in memory by hash (a restart re-applies each once).

Nothing that is not the operator's is ever taken over: before an object is first applied by this
process, the existing one (the cache's copy for watched kinds, else one read) must be absent or
ours (ownership.owned_by_us), else NameConflictError and none of the objects is touched.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from slmfleet.cache.slim import APPLIED_HASH
from slmfleet.k8s import Kube
from slmfleet.ownership import NameConflictError, owned_by_us, owner_uids


def content_hash(obj: Mapping[str, Any]) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _ref(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return (str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))


def with_hash(obj: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """``obj`` annotated with the hash of its own content."""
    digest = content_hash(obj)
    meta = dict(obj["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED_HASH: digest}
    return {**obj, "metadata": meta}, digest


def _same(cached: Mapping[str, Any], obj: Mapping[str, Any], digest: str) -> bool:
    annotations = (cached.get("metadata") or {}).get("annotations") or {}
    want = (obj.get("spec") or {}).get("replicas")
    have = (cached.get("spec") or {}).get("replicas")
    return annotations.get(APPLIED_HASH) == digest and want == have


class Applier:
    """Server-side apply through one Kube client, skipping objects already applied as planned."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._applied: dict[tuple[str, str, str], str] = {}
        self._owned: dict[str, set[tuple[str, str, str]]] = {}
        self._lock = threading.Lock()
        self.applies = 0
        self.skipped = 0

    def apply(
        self, obj: Mapping[str, Any], cached: Mapping[str, Any] | None = None, watched: bool = False
    ) -> bool:
        """Apply ``obj`` unless it is unchanged. For a ``watched`` kind, ``cached`` is the cache's
        copy (None: it does not exist), whose applied-hash annotation and replicas tell; other
        kinds are compared with what this process applied last. True when it was applied."""
        annotated, digest = with_hash(obj)
        ref = _ref(obj)
        if watched:
            if cached is not None and _same(cached, obj, digest):
                self.skipped += 1
                return False
        elif self._applied.get(ref) == digest:
            self.skipped += 1
            return False
        self.kube.apply(annotated)
        with self._lock:
            self._applied[ref] = digest
            for uid in owner_uids(obj):
                self._owned.setdefault(uid, set()).add(ref)
            self.applies += 1
        return True

    def check(
        self, obj: Mapping[str, Any], cached: Mapping[str, Any] | None, watched: bool
    ) -> None:
        """NameConflictError unless ``obj`` is absent or ours (read once, when first applied)."""
        ref = _ref(obj)
        if ref in self._applied:
            return
        kind, namespace, name = ref
        # The cache holds only labelled objects: a miss may still be someone else's object.
        existing = (
            cached
            if watched and cached is not None
            else self.kube.get(kind, name, namespace or None)
        )
        if not owned_by_us(existing, owner_uids(obj)):
            raise NameConflictError(kind, name, namespace or None)

    def apply_all(
        self,
        objects: Sequence[Mapping[str, Any]],
        cached: Mapping[str, Mapping[str, Any]] | None = None,
        watched: Collection[str] = (),
    ) -> int:
        """Check every object, then apply those that changed: one conflict and none is touched.
        ``cached`` maps names of the ``watched`` kinds to the cache's copies."""
        cached = cached or {}

        def copy(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
            return cached.get(obj["metadata"]["name"])

        for obj in objects:
            self.check(obj, copy(obj), obj["kind"] in watched)
        return sum(self.apply(obj, copy(obj), obj["kind"] in watched) for obj in objects)

    def forget(self, namespace: str, names: set[str], kind: str | None = None) -> None:
        """Drop what is remembered of objects named ``names`` in ``namespace`` (of ``kind``,
        when given)."""
        with self._lock:
            for ref in [r for r in self._applied if r[1] == namespace and r[2] in names]:
                if kind is None or ref[0] == kind:
                    del self._applied[ref]

    def forget_owner(self, uid: str) -> None:
        """The owner is gone: what it applied is forgotten, so an object of the same name is
        checked for ownership again (a new owner of that name must not skip the check)."""
        with self._lock:
            for ref in self._owned.pop(uid, set()):
                self._applied.pop(ref, None)
