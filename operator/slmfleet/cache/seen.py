"""Which object versions the watch handlers have already seen.

kopf lists a resource again each time a watch stream ends and hands every listed object to the
handlers once more. An object whose resourceVersion did not change since it was last seen
changed nothing, so it enqueues nothing: a re-list of a thousand idle models costs a thousand
dictionary look-ups, not a thousand plans. One short string is kept per watched object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from slmfleet.cache import slim


class Seen:
    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._versions)

    def changed(self, kind: str, body: Mapping[str, Any], event: str | None) -> bool:
        """Whether this event says something new about the object (deletions always do)."""
        meta = body.get("metadata") or {}
        key = (kind, str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"))
        if event == "DELETED":
            self._versions.pop(key, None)
            return True
        version = str(meta.get("resourceVersion") or "")
        if version and self._versions.get(key) == version:
            return False
        self._versions[key] = version
        return True


SEEN = Seen()
"""Shared by the watch handlers, which all run on kopf's event loop."""

UNPLANNED_STATUS = ("cost", "evalProgress")
"""Status fields the plan never reads: written by the fleet pass on its own cadence (cost), or
by the actor while an eval runs, which it is due again for anyway (evalProgress)."""


def _digest(view: Any) -> str:
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()


def plan_inputs(body: Mapping[str, Any]) -> str:
    """A digest of what a SmallModel's plan and routing read: the object without its
    resourceVersion, managedFields and the status fields no plan reads."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields")}  # fmt: skip
    status = {k: v for k, v in (body.get("status") or {}).items() if k not in UNPLANNED_STATUS}
    return _digest({"metadata": meta, "spec": body.get("spec"), "status": status})


def node_inputs(body: Mapping[str, Any]) -> str:
    """A digest of what GPUClasses read of a node (its cached view: labels, taints,
    allocatable); not its heartbeats, which change its status every few seconds."""
    return _digest(slim.node(body))


class Inputs:
    """The last input digest per object: an event that changed only what nothing reads (a
    status.cost write, a node's heartbeat) enqueues nothing."""

    def __init__(self, inputs: Callable[[Mapping[str, Any]], str] = plan_inputs) -> None:
        self._inputs = inputs
        self._digests: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._digests)

    def changed(self, body: Mapping[str, Any], event: str | None) -> bool:
        meta = body.get("metadata") or {}
        key = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
        if event == "DELETED":
            self._digests.pop(key, None)
            return True
        digest = self._inputs(body)
        if self._digests.get(key) == digest:
            return False
        self._digests[key] = digest
        return True


MODEL_INPUTS = Inputs()
NODE_INPUTS = Inputs(node_inputs)
