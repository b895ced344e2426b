"""The traffic-provider interface: turn a weight per revision into what makes it so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class TrafficProvider(Protocol):
    """Applies traffic weights (percent per revision, summing to 100) for one model."""

    def set_weights(
        self, model: str, weights: Mapping[str, int]
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Replicas per revision, and the child objects that route traffic (possibly none)."""
        ...


def check_weights(weights: Mapping[str, int]) -> None:
    """Weights are 0-100 and add up to 100 (at least one revision serves)."""
    if not weights:
        raise ValueError("no revision to send traffic to")
    if any(not 0 <= w <= 100 for w in weights.values()):
        raise ValueError(f"weights must lie in 0..100, got {dict(weights)}")
    if sum(weights.values()) != 100:
        raise ValueError(f"weights must add up to 100, got {dict(weights)}")
