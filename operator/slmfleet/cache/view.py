"""Reads from the indexes: the one way handlers and the scheduler look at the cluster.

The indexes are filled by kopf on its event loop while worker threads read them. Every read
copies a store into a list in one C-level call (atomic under the GIL), and the cached values are
replaced, never changed in place, so a reader sees each object whole. Callers must not modify
what they get.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmfleet.cache import indexes as ix

Body = dict[str, Any]


class FleetCache:
    """A read-only view over kopf's indexes (see indexes.py), keyed as the indexes are."""

    def __init__(self, indices: Mapping[str, Any]) -> None:
        self._indices = indices

    def _store(self, index: str, key: Any) -> list[Body]:
        try:
            return list(self._indices[index][key])
        except KeyError:
            return []

    def _all(self, index: str) -> list[Body]:
        idx = self._indices[index]
        out: list[Body] = []
        for key in list(idx):
            out += self._store(index, key)
        return out

    def smallmodel(self, namespace: str, name: str) -> Body | None:
        found = self._store(ix.SMALLMODELS, (namespace, name))
        return found[0] if found else None

    def smallmodels(self, namespace: str | None = None) -> list[Body]:
        if namespace is None:
            return self._all(ix.SMALLMODELS)
        idx = self._indices[ix.SMALLMODELS]
        keys = [k for k in list(idx) if k[0] == namespace]
        return [body for key in keys for body in self._store(ix.SMALLMODELS, key)]

    def gpuclass(self, name: str) -> Body | None:
        found = self._store(ix.GPUCLASSES, ("", name))
        return found[0] if found else None

    def gpuclasses(self) -> list[Body]:
        return self._all(ix.GPUCLASSES)

    def modelroutes(self, namespace: str) -> list[Body]:
        return self._store(ix.MODELROUTES, namespace)

    def evalsuite(self, namespace: str, name: str) -> Body | None:
        found = self._store(ix.EVALSUITES, (namespace, name))
        return found[0] if found else None

    def deployments(self, namespace: str, model: str) -> list[Body]:
        """The engine Deployments labelled for ``model`` (every revision, any owner)."""
        return self._store(ix.DEPLOYMENTS, (namespace, model))

    def pods(self, namespace: str, model: str) -> list[Body]:
        """The engine pods labelled for ``model``."""
        return self._store(ix.PODS, (namespace, model))

    def disruption_budgets(self, namespace: str, model: str) -> list[Body]:
        """The PodDisruptionBudgets labelled for ``model``."""
        return self._store(ix.BUDGETS, (namespace, model))

    def _in_namespace(self, index: str, namespace: str) -> list[Body]:
        """Every object of an index keyed by (namespace, ...) that lies in ``namespace``."""
        keys = [k for k in list(self._indices[index]) if k[0] == namespace]
        return [body for key in keys for body in self._store(index, key)]

    def namespace_pods(self, namespace: str) -> list[Body]:
        return self._in_namespace(ix.PODS, namespace)

    def endpoint_slices(self, namespace: str) -> list[Body]:
        return self._store(ix.SLICES, namespace)

    def nodes(self) -> list[Body]:
        return self._store(ix.NODES, None)

    def weight_claim(self, namespace: str, name: str) -> Body | None:
        found = self._store(ix.WEIGHT_CLAIMS, (namespace, name))
        return found[0] if found else None

    def weight_claims(self, namespace: str) -> list[Body]:
        return self._in_namespace(ix.WEIGHT_CLAIMS, namespace)

    def weight_job(self, namespace: str, name: str) -> Body | None:
        found = self._store(ix.WEIGHT_JOBS, (namespace, name))
        return found[0] if found else None

    def namespace_deployments(self, namespace: str) -> list[Body]:
        return self._in_namespace(ix.DEPLOYMENTS, namespace)
