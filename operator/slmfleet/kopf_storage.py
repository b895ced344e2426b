"""kopf's diff-base storage for an operator without changing handlers: it builds nothing.

A diff-base ("the last handled essence") exists only for kopf's changing handlers (on.create,
on.update, on.field, ...), to tell what changed since the last one ran. This operator has none:
every handler is a watch handler or an index (main.py). kopf still builds the essence on every
watch event (a deep copy of the whole object, status and managedFields included, for every pod,
Deployment and SmallModel event): in a burst of a thousand models that was an eighth of the
operator's CPU. This storage keeps and builds nothing, so nothing of it is ever written either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf


class NoDiffBase(kopf.DiffBaseStorage):
    """An empty essence for every object; nothing fetched, nothing stored."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None
