"""Weights and replicas per revision that a rollout status means (pure).

Both the reconcile (which applies the current revision's Deployment) and the rollout timer (which
scales the others) derive replica counts from here, so they never fight over them.
"""

from __future__ import annotations

import math

from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.traffic.replica_ratio import split_replicas


def weights_of(status: RolloutStatus | None, revision: str) -> dict[str, int]:
    """Percent of traffic per revision, stable first; ``revision`` alone when nothing is rolling."""
    if status is None or status.stable_revision is None:
        return {revision: 100}
    stable, canary = status.stable_revision, status.canary_revision
    if canary is None or canary == stable:
        return {stable: 100}
    weight = status.weight
    return {stable: 100 - weight, canary: weight}


def replicas_of(
    spec: RolloutSpec, status: RolloutStatus | None, revision: str, total: int
) -> dict[str, int]:
    """Replicas per revision for the weights above, by the chosen traffic provider."""
    weights = weights_of(status, revision)
    if len(weights) == 1:
        return {rev: total for rev in weights}
    (stable, stable_w), (canary, canary_w) = weights.items()
    if spec.traffic_provider == "gateway-api":
        return {
            rev: math.ceil(total * w / 100) if w > 0 else 0
            for rev, w in ((stable, stable_w), (canary, canary_w))
        }
    stable_n, canary_n = split_replicas(total, canary_w, spec.no_surge)
    return {stable: stable_n, canary: canary_n}
