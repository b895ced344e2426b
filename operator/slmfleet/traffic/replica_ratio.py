"""The replica-ratio traffic provider: split by ready replicas behind the model's one Service.

The Service selects every revision of a model, so a revision's share of requests is its share of
ready replicas. A canary weight of w% becomes ``ceil(total * w / 100)`` canary replicas and the
rest stable, keeping at least one of each while both serve. Without surge (a full cluster) the
sum never exceeds ``total``; with surge each side keeps at least one replica even when ``total``
is 1, so the sum may exceed ``total`` by one. For clients that call the Service directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.builders.deployment import ModelRef
from slmfleet.traffic.provider import stable_and_canary


def split_replicas(total: int, canary_weight: int, no_surge: bool = False) -> tuple[int, int]:
    """(stable, canary) replicas for a canary weight in percent."""
    if not 0 <= canary_weight <= 100:
        raise ValueError(f"canary weight must lie in 0..100, got {canary_weight}")
    if total <= 0:
        return 0, 0
    if canary_weight == 0:
        return total, 0
    if canary_weight == 100:
        return 0, total
    canary = math.ceil(total * canary_weight / 100)
    if no_surge:
        if total == 1:
            return 0, 1  # one GPU: the step is a full cut-over
        canary = min(canary, total - 1)
        return total - canary, canary
    return max(1, total - canary), canary


def single(weights: Mapping[str, int], total: int) -> dict[str, int]:
    """All replicas on the one revision with weight, none on the others."""
    return {rev: total if w > 0 else 0 for rev, w in weights.items()}


@dataclass(frozen=True)
class ReplicaRatioProvider:
    """Pure: replica counts per revision; there is no routing object to write."""

    def replicas(self, weights: Mapping[str, int], total: int, no_surge: bool) -> dict[str, int]:
        pair = stable_and_canary(weights)
        if pair is None:
            return single(weights, total)
        stable, canary = pair
        stable_n, canary_n = split_replicas(total, weights[canary], no_surge)
        return {stable: stable_n, canary: canary_n}

    def router_weights(self, weights: Mapping[str, int]) -> dict[str, int] | None:
        return None  # the ratio of ready replicas is the split

    def objects(self, model: ModelRef, weights: Mapping[str, int]) -> list[dict[str, Any]]:
        return []

    def revision_objects(self, model: ModelRef, revision: str) -> list[tuple[str, str]]:
        return []
