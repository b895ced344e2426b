"""Which object versions the watch handlers have already seen.

kopf lists a resource again each time a watch stream ends and hands every listed object to the
handlers once more. An object whose resourceVersion did not change since it was last seen
changed nothing, so it enqueues nothing: a re-list of a thousand idle models costs a thousand
dictionary look-ups, not a thousand plans. One short string is kept per watched object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
