"""The Gateway API traffic provider: an HTTPRoute with one weighted backendRef per revision.

Each revision gets its own Service ``<model>-<revision>`` selecting only that revision's pods,
and the route, named after the model, sends each its weight. Replicas follow the weights too (a
revision with weight 0 is scaled to 0), but the split itself is exact, not a replica ratio. The
built-in router honours the same weights, so both ways in agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.engine import PORT
from slmfleet.builders.httproute import backend_ref, httproute, parent_ref
from slmfleet.builders.labels import (
    REVISION_LABEL,
    common_labels,
    owner_reference,
    selector_labels,
    service_name,
)
from slmfleet.traffic.provider import check_weights, stable_and_canary


def revision_service_name(model: str, revision: str) -> str:
    return service_name(f"{model}-{revision}")


def revision_service(model: ModelRef, revision: str) -> dict[str, Any]:
    """A Service selecting only one revision's pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": revision_service_name(model.name, revision),
            "namespace": model.namespace,
            "labels": {**common_labels(model.name), REVISION_LABEL: revision},
            "ownerReferences": [owner_reference("SmallModel", model.name, model.uid)],
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {**selector_labels(model.name), REVISION_LABEL: revision},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


@dataclass(frozen=True)
class GatewayAPIProvider:
    """Pure: per-revision Services and an HTTPRoute; replicas proportional to weight."""

    gateway: str
    gateway_namespace: str | None = None

    def replicas(self, weights: Mapping[str, int], total: int, no_surge: bool) -> dict[str, int]:
        stable_and_canary(weights)  # checks them: one or two revisions, adding up to 100
        return {rev: (math.ceil(total * w / 100) if w > 0 else 0) for rev, w in weights.items()}

    def router_weights(self, weights: Mapping[str, int]) -> dict[str, int] | None:
        return dict(weights)

    def route(self, model: ModelRef, weights: Mapping[str, int]) -> dict[str, Any]:
        return httproute(
            service_name(model.name),
            model.namespace,
            common_labels(model.name),
            owner_reference("SmallModel", model.name, model.uid),
            [parent_ref(self.gateway, self.gateway_namespace)],
            [backend_ref(revision_service_name(model.name, r), w) for r, w in weights.items()],
        )

    def objects(self, model: ModelRef, weights: Mapping[str, int]) -> list[dict[str, Any]]:
        check_weights(weights)
        services = [revision_service(model, rev) for rev in weights]
        return [*services, self.route(model, weights)]

    def revision_objects(self, model: ModelRef, revision: str) -> list[tuple[str, str]]:
        return [("Service", revision_service_name(model.name, revision))]
