"""SmallModel autoscaling: what to scale on, how fast, and the status the autoscaler reports.

Replica bounds are the SmallModel's own ``minReplicas``/``maxReplicas`` (one pair, one CEL rule).
While autoscaling is on, the autoscaler keeps at least ``max(minReplicas, 1)`` replicas; it goes
to zero only through ``scaleToZero`` after an idle window, which needs ``minReplicas: 0``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from slmfleet.api.base import SpecModel, StatusModel
from slmfleet.api.cel import Cel

AutoscalingMode = Literal["operator", "hpa", "keda"]


class AutoscalingTargets(SpecModel):
    """Per-replica targets; the autoscaler follows whichever asks for the most replicas."""

    CEL_RULES = (
        Cel(
            "has(self.numRequestsWaiting) || has(self.kvCacheUsagePerc)"
            " || has(self.routerInFlight)",
            "autoscaling.targets needs at least one target",
            lambda t: any(
                v is not None
                for v in (t.num_requests_waiting, t.kv_cache_usage_perc, t.router_in_flight)
            ),
        ),
    )

    num_requests_waiting: float | None = Field(
        None,
        gt=0,
        description="Average vllm:num_requests_waiting (queued requests) per replica to aim for.",
    )
    kv_cache_usage_perc: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Average vllm:kv_cache_usage_perc (0-1) per replica to aim for.",
    )
    router_in_flight: float | None = Field(
        None,
        gt=0,
        description="Router requests in flight per replica to aim for (needs the slmfleet router).",
    )


class ScalingRules(SpecModel):
    """How fast replicas change in one direction."""

    stabilization_window_seconds: int = Field(
        0,
        ge=0,
        le=3600,
        description=(
            "Recommendations of this many past seconds are considered: scale up to the lowest "
            "of them, scale down to the highest (as the HorizontalPodAutoscaler does)."
        ),
    )
    max_step: int = Field(4, ge=1, description="Most replicas added or removed in one change.")


def _default_scale_down() -> ScalingRules:
    return ScalingRules(stabilization_window_seconds=300, max_step=1)


class ScaleToZero(SpecModel):
    """Remove every replica after an idle window; the router holds requests while one starts."""

    enabled: bool = Field(False, description="Allow scaling to zero replicas (minReplicas: 0).")
    idle_seconds: int = Field(
        600,
        ge=1,
        description="Seconds with no finished, running or waiting request before scaling to zero.",
    )


class AutoscalingSpec(SpecModel):
    """Scale replicas on vLLM queue and KV-cache signals between minReplicas and maxReplicas."""

    enabled: bool = Field(False, description="Let the autoscaler own spec.replicas.")
    mode: AutoscalingMode = Field(
        "operator",
        description=(
            "operator: the operator's own loop scales through the scale subresource; hpa: emit "
            "an autoscaling/v2 HorizontalPodAutoscaler; keda: emit a KEDA ScaledObject."
        ),
    )
    targets: AutoscalingTargets = Field(
        default_factory=lambda: AutoscalingTargets(num_requests_waiting=4.0),
        description="Per-replica targets (default: 4 waiting requests per replica).",
    )
    metric_window_seconds: int = Field(
        30, ge=1, le=3600, description="Seconds the signals are averaged over."
    )
    scale_up: ScalingRules = Field(
        default_factory=ScalingRules, description="Scale-up stabilization window and step."
    )
    scale_down: ScalingRules = Field(
        default_factory=_default_scale_down,
        description="Scale-down stabilization window and step (default 300 s, 1 replica).",
    )
    scale_to_zero: ScaleToZero = Field(
        default_factory=ScaleToZero, description="Scaling to zero after an idle window."
    )


SCALE_TO_ZERO_NEEDS_MIN_ZERO = Cel(
    "!has(self.autoscaling) || !has(self.autoscaling.scaleToZero)"
    " || !self.autoscaling.scaleToZero.enabled || self.minReplicas == 0",
    "autoscaling.scaleToZero.enabled needs minReplicas: 0",
    lambda s: (
        s.autoscaling is None or not s.autoscaling.scale_to_zero.enabled or s.min_replicas == 0
    ),
)


class Recommendation(StatusModel):
    """One replica count the autoscaler computed, and when."""

    time: datetime = Field(description="When it was computed.")
    replicas: int = Field(ge=0, description="Replicas recommended.")


class AutoscalingStatus(StatusModel):
    """What the autoscaler last saw and decided."""

    mode: str | None = Field(None, description="Mode this status was written in.")
    desired_replicas: int | None = Field(None, ge=0, description="Replicas last decided.")
    last_scale_time: datetime | None = Field(None, description="When spec.replicas last changed.")
    reason: str | None = Field(None, description="Why, in one CamelCase word.")
    message: str | None = Field(None, description="Why, in words, with the signals used.")
    recommendations: list[Recommendation] = Field(
        default_factory=list, description="Recent recommendations inside the stabilization windows."
    )
