"""The autoscaler's memory in SmallModel status, read and written purely.

status.autoscaling keeps the recommendations inside the stabilization windows and the time of the
last change, so a restarted operator continues with the same windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slmfleet.api.autoscaling import AutoscalingStatus
from slmfleet.api.rollout_status import RolloutPhase
from slmfleet.autoscale.decision import Recommendation, ScaleDecision
from slmfleet.timefmt import format_time


@dataclass(frozen=True)
class Memory:
    """What the previous decisions left behind."""

    history: tuple[Recommendation, ...] = ()
    last_scale_time: datetime | None = None
    mode: str | None = None


def memory_from_status(status: Mapping[str, Any] | None) -> Memory:
    """The autoscaler's memory from a SmallModel's status (unreadable parts are forgotten)."""
    raw = (status or {}).get("autoscaling")
    if not raw:
        return Memory()
    parsed = AutoscalingStatus.model_validate(dict(raw))
    history = tuple(Recommendation(r.time, r.replicas) for r in parsed.recommendations)
    return Memory(history, parsed.last_scale_time, parsed.mode)


def rollout_active(status: Mapping[str, Any] | None) -> bool:
    """Whether a canary rollout is between its first step and its end."""
    phase = str(((status or {}).get("rollout") or {}).get("phase"))
    if phase not in set(RolloutPhase):
        return False
    # both revisions' replicas carry traffic weights: moving towards the canary or rolling back
    return RolloutPhase(phase).moving or phase == RolloutPhase.ROLLING_BACK


def status_patch(
    decision: ScaleDecision, memory: Memory, current: int, now: datetime, mode: str
) -> dict[str, Any]:
    """status.autoscaling after ``decision`` (lastScaleTime moves only when replicas change)."""
    changed = decision.desired != current
    last = now if changed else memory.last_scale_time
    body: dict[str, Any] = {
        "mode": mode,
        "desiredReplicas": decision.desired,
        "reason": decision.reason,
        "message": decision.message,
        "recommendations": [
            {"time": format_time(r.time), "replicas": r.replicas} for r in decision.history
        ],
        "lastScaleTime": format_time(last) if last is not None else None,
    }
    AutoscalingStatus.model_validate(body)  # fail here, not at the API server, if the shape drifts
    return body


def mode_status(mode: str, message: str) -> dict[str, Any]:
    """status.autoscaling when an HPA or ScaledObject does the scaling."""
    return {
        "mode": mode,
        "reason": "Delegated",
        "message": message,
        "recommendations": [],
        "desiredReplicas": None,
    }
