"""The traffic-provider interface: what makes a weight per revision true.

A rollout decides weights (percent per revision, stable first); a provider says how many
replicas each revision needs for them, what weights the built-in router splits by, and which
routing objects to apply. ``provider_for`` picks the one a SmallModel's rollout names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from slmfleet.builders.deployment import ModelRef


class TrafficProvider(Protocol):
    """Applies traffic weights for one model (see the module doc)."""

    def replicas(self, weights: Mapping[str, int], total: int, no_surge: bool) -> dict[str, int]:
        """Replicas per revision while ``weights`` hold; ``total`` is the model's replica count."""
        ...

    def router_weights(self, weights: Mapping[str, int]) -> dict[str, int] | None:
        """The split the built-in router applies; None: it spreads over every ready endpoint."""
        ...

    def objects(self, model: ModelRef, weights: Mapping[str, int]) -> list[dict[str, Any]]:
        """Routing objects to apply for these weights (possibly none)."""
        ...

    def revision_objects(self, model: ModelRef, revision: str) -> list[tuple[str, str]]:
        """(kind, name) of the routing objects that go when ``revision`` is deleted."""
        ...


def check_weights(weights: Mapping[str, int]) -> None:
    """Weights are 0-100 and add up to 100 (at least one revision serves)."""
    if not weights:
        raise ValueError("no revision to send traffic to")
    if any(not 0 <= w <= 100 for w in weights.values()):
        raise ValueError(f"weights must lie in 0..100, got {dict(weights)}")
    if sum(weights.values()) != 100:
        raise ValueError(f"weights must add up to 100, got {dict(weights)}")


def stable_and_canary(weights: Mapping[str, int]) -> tuple[str, str] | None:
    """(stable, canary) when two revisions share traffic (stable listed first), else None."""
    check_weights(weights)
    if len(weights) > 2:
        raise ValueError(f"a canary splits two revisions at most, got {dict(weights)}")
    if len(weights) < 2:
        return None
    stable, canary = weights
    return stable, canary
