"""The built-in router as traffic provider: exact weights, independent of replica counts.

The namespace's router splits each request between the stable and canary revisions by the
rollout's weights (the ModelRoute reconcile renders them into the router's config from the
SmallModel's status), so 10% means 10% whatever the replicas. The stable revision keeps all its
replicas until promotion, so a rollback is only a config change; the canary gets
``ceil(total * w / 100)``. Without surge the canary's replicas come out of the stable's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.builders.deployment import ModelRef
from slmfleet.traffic.provider import stable_and_canary
from slmfleet.traffic.replica_ratio import single, split_replicas


@dataclass(frozen=True)
class RouterWeightsProvider:
    """Pure: replicas for a weighted split; the router's config carries the weights."""

    def replicas(self, weights: Mapping[str, int], total: int, no_surge: bool) -> dict[str, int]:
        pair = stable_and_canary(weights)
        if pair is None:
            return single(weights, total)
        stable, canary = pair
        if no_surge:
            stable_n, canary_n = split_replicas(total, weights[canary], no_surge=True)
            return {stable: stable_n, canary: canary_n}
        canary_n = math.ceil(total * weights[canary] / 100) if weights[canary] > 0 else 0
        stable_n = total if weights[stable] > 0 else 0
        return {stable: stable_n, canary: canary_n}

    def router_weights(self, weights: Mapping[str, int]) -> dict[str, int] | None:
        return dict(weights)

    def objects(self, model: ModelRef, weights: Mapping[str, int]) -> list[dict[str, Any]]:
        return []  # the router's ConfigMap is rendered per namespace, from status

    def revision_objects(self, model: ModelRef, revision: str) -> list[tuple[str, str]]:
        return []
