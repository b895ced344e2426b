"""The built-in traffic provider: split by ready-replica ratio behind the model's one Service.

The Service selects every revision of a model, so a revision's share of requests is its share of
ready replicas. A canary weight of w% becomes ``ceil(total * w / 100)`` canary replicas and the
rest stable, keeping at least one of each while both serve. Without surge (a full cluster) the
sum never exceeds ``total``; with surge each side keeps at least one replica even when ``total``
is 1, so the sum may exceed ``total`` by one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.traffic.provider import check_weights


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


def effective_weight(stable: int, canary: int) -> int:
    """Percent of requests the canary gets from a replica split (rounded down)."""
    serving = stable + canary
    return 0 if serving == 0 else (100 * canary) // serving


@dataclass(frozen=True)
class ReplicaRatioProvider:
    """Pure: replica counts per revision; there is no routing object to write.

    ``weights`` lists the stable revision first and the canary second.
    """

    total: int
    no_surge: bool = False

    def set_weights(
        self, model: str, weights: Mapping[str, int]
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        check_weights(weights)
        serving = [rev for rev, w in weights.items() if w > 0]
        if len(serving) > 2:
            raise ValueError(f"{model}: the replica-ratio provider splits two revisions at most")
        plan = {rev: 0 for rev in weights}
        if len(serving) == 1:
            plan[serving[0]] = self.total
            return plan, []
        stable, canary = serving  # insertion order: stable first, then canary
        stable_n, canary_n = split_replicas(self.total, weights[canary], self.no_surge)
        plan[stable], plan[canary] = stable_n, canary_n
        return plan, []
