"""The Gateway API traffic provider: an HTTPRoute with one weighted backendRef per revision.

Each revision gets its own Service ``<model>-<revision>`` selecting only that revision's pods,
and the route sends each its weight. Replicas follow the weights too (a revision with weight 0
is scaled to 0), but the split itself is exact, not a replica ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import (
    REVISION_LABEL,
    common_labels,
    owner_reference,
    selector_labels,
    service_name,
)
from slmfleet.traffic.provider import check_weights


def revision_service_name(model: str, revision: str) -> str:
    return service_name(f"{model}-{revision}")


@dataclass(frozen=True)
class GatewayAPIProvider:
    """Pure: per-revision Services and an HTTPRoute dict; replicas proportional to weight."""

    namespace: str
    owner_uid: str
    gateway: str
    gateway_namespace: str | None
    total: int

    def _owned(self, model: str) -> list[dict[str, Any]]:
        return [owner_reference("SmallModel", model, self.owner_uid)]

    def revision_service(self, model: str, revision: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": revision_service_name(model, revision),
                "namespace": self.namespace,
                "labels": {**common_labels(model), REVISION_LABEL: revision},
                "ownerReferences": self._owned(model),
            },
            "spec": {
                "type": "ClusterIP",
                "selector": {**selector_labels(model), REVISION_LABEL: revision},
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
        }

    def route(self, model: str, weights: Mapping[str, int]) -> dict[str, Any]:
        parent: dict[str, Any] = {"name": self.gateway}
        if self.gateway_namespace:
            parent["namespace"] = self.gateway_namespace
        backends = [
            {"name": revision_service_name(model, rev), "port": PORT, "weight": weight}
            for rev, weight in weights.items()
        ]
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {
                "name": service_name(model),
                "namespace": self.namespace,
                "labels": common_labels(model),
                "ownerReferences": self._owned(model),
            },
            "spec": {"parentRefs": [parent], "rules": [{"backendRefs": backends}]},
        }

    def set_weights(
        self, model: str, weights: Mapping[str, int]
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        check_weights(weights)
        replicas = {
            rev: (math.ceil(self.total * w / 100) if w > 0 else 0) for rev, w in weights.items()
        }
        children = [self.revision_service(model, rev) for rev in weights]
        return replicas, [*children, self.route(model, weights)]
