"""How many replicas a SmallModel should have, decided purely from its signals and recent history.

Rules, in order:

1. A rollout in progress holds the replica count: the canary's traffic weights are computed over
   the replicas of both revisions, so changing them mid-step would break the split.
2. No signal at all (Prometheus down, no pod scraped yet) holds the replica count.
3. At zero replicas, any demand (router requests held for the model, or requests waiting) brings
   the model back to ``max(minReplicas, 1)``; without demand it stays at zero. Scale to zero
   itself happens only when enabled, after ``idleSeconds`` with no finished, running, waiting or
   held request, and not sooner than ``idleSeconds`` after the previous change.
4. Otherwise each target gives ``ceil(pods * value / target)`` like the HorizontalPodAutoscaler,
   where ``pods`` is how many pods reported the signal (pods not serving yet are not counted, so
   a scale-up in progress does not scale up again). A ratio within ``TOLERANCE`` of 1 keeps the
   current count. The largest recommendation of all targets wins.
5. Stabilization (HPA's rule): scale up to the *lowest* recommendation of the last
   ``scaleUp.stabilizationWindowSeconds`` (demand must last), scale down to the *highest* of the
   last ``scaleDown.stabilizationWindowSeconds`` (a dip must last).
6. At most ``maxStep`` replicas are added or removed at once; the result lies in
   ``[max(minReplicas, 1), maxReplicas]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slmfleet.api.autoscaling import AutoscalingSpec

TOLERANCE = 0.1


@dataclass(frozen=True)
class Signals:
    """What the model's pods and the router reported; None when there was no data."""

    pods: int = 0
    waiting: float | None = None  # average vllm:num_requests_waiting per reporting pod
    kv_cache: float | None = None  # average vllm:kv_cache_usage_perc per reporting pod
    router_in_flight: float | None = None  # router requests in flight to the model, total
    running: float | None = None  # vllm:num_requests_running, total
    finished_in_idle_window: float | None = None  # requests finished over idleSeconds, total
    held: float = 0.0  # router requests held because the model has no ready endpoint

    @property
    def any_data(self) -> bool:
        values = (self.waiting, self.kv_cache, self.router_in_flight, self.running)
        return self.held > 0 or any(v is not None for v in values)


@dataclass(frozen=True)
class Bounds:
    """Replica bounds: the SmallModel's minReplicas and maxReplicas."""

    min_replicas: int
    max_replicas: int

    @property
    def floor(self) -> int:
        return max(self.min_replicas, 1)

    def clamp(self, replicas: int) -> int:
        return max(self.floor, min(self.max_replicas, replicas))


@dataclass(frozen=True)
class Recommendation:
    time: datetime
    replicas: int


@dataclass(frozen=True)
class ScaleDecision:
    desired: int
    reason: str
    message: str
    history: tuple[Recommendation, ...]  # recommendations inside the stabilization windows


def _ratio_recommendation(pods: int, value: float | None, target: float | None) -> int | None:
    if value is None or target is None or pods <= 0:
        return None
    ratio = value / target
    if abs(ratio - 1.0) <= TOLERANCE:
        return pods
    return math.ceil(pods * ratio)


def recommend(spec: AutoscalingSpec, current: int, signals: Signals) -> tuple[int, str]:
    """The raw recommendation of all targets (before stabilization, step and bounds)."""
    targets = spec.targets
    pods = signals.pods or current
    per_replica_in_flight = (
        signals.router_in_flight / pods
        if signals.router_in_flight is not None and pods > 0
        else None
    )
    candidates = {
        "numRequestsWaiting": _ratio_recommendation(
            pods, signals.waiting, targets.num_requests_waiting
        ),
        "kvCacheUsagePerc": _ratio_recommendation(
            pods, signals.kv_cache, targets.kv_cache_usage_perc
        ),
        "routerInFlight": _ratio_recommendation(
            pods, per_replica_in_flight, targets.router_in_flight
        ),
    }
    known = {name: value for name, value in candidates.items() if value is not None}
    if not known:
        return current, "none"
    best = max(known, key=lambda name: known[name])
    return known[best], best


def _window(history: Sequence[Recommendation], now: datetime, seconds: int) -> list[Recommendation]:
    start = now - timedelta(seconds=seconds)
    return [r for r in history if r.time > start]


def _stabilized(
    spec: AutoscalingSpec, current: int, raw: int, history: Sequence[Recommendation], now: datetime
) -> int:
    if raw > current:
        window = _window(history, now, spec.scale_up.stabilization_window_seconds)
        return max(current, min([raw, *(r.replicas for r in window)]))
    if raw < current:
        window = _window(history, now, spec.scale_down.stabilization_window_seconds)
        return min(current, max([raw, *(r.replicas for r in window)]))
    return current


def _stepped(spec: AutoscalingSpec, current: int, wanted: int) -> int:
    if wanted > current:
        return min(wanted, current + spec.scale_up.max_step)
    return max(wanted, current - spec.scale_down.max_step)


def _idle(signals: Signals) -> bool:
    """Nothing running, waiting or held, and nothing finished over the idle window (a counter
    that was never exported counts as zero finished; unknown running or waiting is not idle)."""
    quiet = (signals.running, signals.waiting)
    finished = signals.finished_in_idle_window or 0.0
    return signals.held <= 0 and finished <= 0 and all(v is not None and v <= 0 for v in quiet)


def _keep_history(
    spec: AutoscalingSpec, history: Sequence[Recommendation], now: datetime, new: Recommendation
) -> tuple[Recommendation, ...]:
    keep = max(
        spec.scale_up.stabilization_window_seconds, spec.scale_down.stabilization_window_seconds
    )
    return (*_window(history, now, keep), new)


def decide_replicas(
    spec: AutoscalingSpec,
    bounds: Bounds,
    current: int,
    signals: Signals,
    history: Sequence[Recommendation],
    now: datetime,
    *,
    last_scale_time: datetime | None = None,
    rollout_active: bool = False,
) -> ScaleDecision:
    """The replicas to have now, why, and the recommendation history to keep."""
    kept = tuple(history)
    if rollout_active:
        return ScaleDecision(
            current, "RolloutInProgress", "holding replicas during a rollout", kept
        )
    if current == 0:
        demand = signals.held > 0 or (signals.waiting or 0) > 0
        if demand:
            want = bounds.floor
            message = f"{signals.held:g} requests held by the router; starting {want}"
            return ScaleDecision(want, "ScaleFromZero", message, kept)
        if spec.scale_to_zero.enabled:
            return ScaleDecision(0, "ScaledToZero", "no demand", kept)
        return ScaleDecision(bounds.floor, "BelowMinimum", "scale to zero is off", kept)
    if not signals.any_data:
        return ScaleDecision(current, "NoMetrics", "no signals for the model's pods", kept)
    idle_for = timedelta(seconds=spec.scale_to_zero.idle_seconds)
    if (
        spec.scale_to_zero.enabled
        and bounds.min_replicas == 0
        and _idle(signals)
        and (last_scale_time is None or now - last_scale_time >= idle_for)
    ):
        seconds = spec.scale_to_zero.idle_seconds
        return ScaleDecision(0, "Idle", f"no requests for {seconds}s", ())
    raw, target = recommend(spec, current, signals)
    raw = bounds.clamp(raw)
    wanted = _stepped(spec, current, _stabilized(spec, current, raw, history, now))
    desired = bounds.clamp(wanted)
    new_history = _keep_history(spec, history, now, Recommendation(now, raw))
    message = (
        f"{target} recommends {raw} (pods={signals.pods}, waiting={signals.waiting}, "
        f"kvCache={signals.kv_cache}, routerInFlight={signals.router_in_flight})"
    )
    if desired > current:
        reason = "ScaleUp"
    elif desired < current:
        reason = "ScaleDown"
    else:
        reason = "Steady"
    return ScaleDecision(desired, reason, message, new_history)
