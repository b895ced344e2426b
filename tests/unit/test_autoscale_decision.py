"""The pure autoscaling decision, checked against replica counts worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slmfleet.api.autoscaling import AutoscalingSpec
from slmfleet.autoscale.decision import Bounds, Recommendation, Signals, decide_replicas

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def auto(
    *,
    waiting: float | None = None,
    kv: float | None = None,
    in_flight: float | None = None,
    up: tuple[int, int] = (0, 4),
    down: tuple[int, int] = (0, 1),
    to_zero: int | None = None,
) -> AutoscalingSpec:
    body: dict[str, Any] = {
        "enabled": True,
        "targets": {
            k: v
            for k, v in (
                ("numRequestsWaiting", waiting),
                ("kvCacheUsagePerc", kv),
                ("routerInFlight", in_flight),
            )
            if v is not None
        },
        "scaleUp": {"stabilizationWindowSeconds": up[0], "maxStep": up[1]},
        "scaleDown": {"stabilizationWindowSeconds": down[0], "maxStep": down[1]},
    }
    if to_zero is not None:
        body["scaleToZero"] = {"enabled": True, "idleSeconds": to_zero}
    return AutoscalingSpec.model_validate(body)


def ago(seconds: int, replicas: int) -> Recommendation:
    return Recommendation(NOW - timedelta(seconds=seconds), replicas)


QUIET = {"running": 0.0, "waiting": 0.0, "finished_in_idle_window": 0.0}

CASES = [
    # id, spec, bounds (min, max), current, signals, history, last scale (s ago), desired, reason
    # 1 pod with 7 waiting, target 2: ceil(1 * 7 / 2) = 4; step 4 allows 1 -> 5.
    ("waiting-up", auto(waiting=2), (1, 8), 1, Signals(pods=1, waiting=7), (), None, 4, "ScaleUp"),
    # ceil(1 * 10 / 1) = 10, capped at max 8, then step 2: 1 + 2 = 3.
    (
        "step-up",
        auto(waiting=1, up=(0, 2)),
        (1, 8),
        1,
        Signals(pods=1, waiting=10),
        (),
        None,
        3,
        "ScaleUp",
    ),
    # 2.1 / 2 = 1.05, inside the 10 % tolerance: stay at 2.
    ("tolerance", auto(waiting=2), (1, 8), 2, Signals(pods=2, waiting=2.1), (), None, 2, "Steady"),
    # waiting 0 gives ceil(0) = 0; kv 0.9 / 0.6 = 1.5 on 3 pods: ceil(4.5) = 5; the larger wins.
    (
        "kv-wins",
        auto(waiting=2, kv=0.6),
        (1, 8),
        3,
        Signals(pods=3, waiting=0, kv_cache=0.9),
        (),
        None,
        5,
        "ScaleUp",
    ),
    # kv 0.1 / 0.5 on 4 pods: ceil(0.8) = 1; step down 1: 4 - 1 = 3.
    (
        "down-step",
        auto(kv=0.5),
        (1, 8),
        4,
        Signals(pods=4, kv_cache=0.1),
        (),
        None,
        3,
        "ScaleDown",
    ),
    # Down window 60 s holds a recommendation of 4 from 30 s ago: max(1, 4) = 4, no change.
    (
        "down-window-holds",
        auto(kv=0.5, down=(60, 1)),
        (1, 8),
        4,
        Signals(pods=4, kv_cache=0.1),
        (ago(30, 4),),
        None,
        4,
        "Steady",
    ),
    # The 4 is 90 s old, outside the 60 s window: down to max(1) then step: 4 - 1 = 3.
    (
        "down-window-expired",
        auto(kv=0.5, down=(60, 1)),
        (1, 8),
        4,
        Signals(pods=4, kv_cache=0.1),
        (ago(90, 4),),
        None,
        3,
        "ScaleDown",
    ),
    # Up window 30 s with a recommendation of 2 from 10 s ago: min(6, 2) = 2, no change yet.
    (
        "up-window-holds",
        auto(waiting=1, up=(30, 4)),
        (1, 8),
        2,
        Signals(pods=2, waiting=3),
        (ago(10, 2),),
        None,
        2,
        "Steady",
    ),
    # Two sustained recommendations of 5 and 6 inside the window: min(6, 5, 6) = 5.
    (
        "up-window-sustained",
        auto(waiting=1, up=(30, 4)),
        (1, 8),
        2,
        Signals(pods=2, waiting=3),
        (ago(20, 5), ago(10, 6)),
        None,
        5,
        "ScaleUp",
    ),
    # maxReplicas lowered to 4 below the current 6: the clamp wins over the step.
    ("over-max", auto(waiting=4), (1, 4), 6, Signals(pods=6, waiting=4), (), None, 4, "ScaleDown"),
    # 12 router requests over 2 pods = 6 per replica, target 3: ceil(2 * 6 / 3) = 4.
    (
        "router-in-flight",
        auto(in_flight=3),
        (1, 8),
        2,
        Signals(pods=2, router_in_flight=12),
        (),
        None,
        4,
        "ScaleUp",
    ),
    ("no-data", auto(waiting=2), (1, 8), 3, Signals(), (), None, 3, "NoMetrics"),
    # At zero, 3 held requests bring back max(minReplicas 0, 1) = 1.
    (
        "from-zero",
        auto(waiting=2, to_zero=60),
        (0, 4),
        0,
        Signals(held=3),
        (),
        None,
        1,
        "ScaleFromZero",
    ),
    (
        "stay-zero",
        auto(waiting=2, to_zero=60),
        (0, 4),
        0,
        Signals(pods=0),
        (),
        None,
        0,
        "ScaledToZero",
    ),
    # Idle for the 60 s window and last change 120 s ago: to zero.
    ("idle", auto(waiting=2, to_zero=60), (0, 4), 1, Signals(pods=1, **QUIET), (), 120, 0, "Idle"),
    # Last change 30 s ago, inside the 60 s idle window: ceil(0) clamps to the floor, 1.
    (
        "idle-too-recent",
        auto(waiting=2, to_zero=60),
        (0, 4),
        1,
        Signals(pods=1, **QUIET),
        (),
        30,
        1,
        "Steady",
    ),
    # 3 requests finished inside the idle window: not idle.
    (
        "not-idle-finished",
        auto(waiting=2, to_zero=60),
        (0, 4),
        1,
        Signals(pods=1, running=0, waiting=0, finished_in_idle_window=3),
        (),
        120,
        1,
        "Steady",
    ),
    # Scale to zero off: an idle model stays at max(minReplicas, 1) = 2.
    ("idle-no-zero", auto(waiting=2), (2, 4), 2, Signals(pods=2, **QUIET), (), 999, 2, "Steady"),
]


@pytest.mark.parametrize(
    ("spec", "bounds", "current", "signals", "history", "last_ago", "desired", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decision_table(
    spec: AutoscalingSpec,
    bounds: tuple[int, int],
    current: int,
    signals: Signals,
    history: tuple[Recommendation, ...],
    last_ago: int | None,
    desired: int,
    reason: str,
) -> None:
    last = NOW - timedelta(seconds=last_ago) if last_ago is not None else None
    got = decide_replicas(
        spec, Bounds(*bounds), current, signals, history, NOW, last_scale_time=last
    )
    assert (got.desired, got.reason) == (desired, reason)


@pytest.mark.parametrize("current", [0, 2, 5])
def test_rollout_holds_whatever_the_signals(current: int) -> None:
    got = decide_replicas(
        auto(waiting=1, to_zero=60),
        Bounds(0, 8),
        current,
        Signals(pods=current, waiting=50, held=4),
        (),
        NOW,
        rollout_active=True,
    )
    assert (got.desired, got.reason) == (current, "RolloutInProgress")


@pytest.mark.parametrize(
    ("up", "down", "ages", "kept_ages"),
    [
        # windows 30 and 120: keep what is younger than 120 s, plus the new one (age 0).
        (30, 120, (200, 100, 20), (100, 20, 0)),
        (0, 0, (5, 1), (0,)),
        (300, 10, (301, 299), (299, 0)),
    ],
)
def test_history_keeps_the_longest_window(
    up: int, down: int, ages: tuple[int, ...], kept_ages: tuple[int, ...]
) -> None:
    spec = auto(waiting=2, up=(up, 4), down=(down, 1))
    history = tuple(ago(a, 3) for a in ages)
    got = decide_replicas(spec, Bounds(1, 8), 3, Signals(pods=3, waiting=2), history, NOW)
    assert tuple(int((NOW - r.time).total_seconds()) for r in got.history) == kept_ages


@pytest.mark.parametrize(
    ("pods", "waiting", "target", "expected"),
    [
        (1, 9.0, 4.0, 3),  # ceil(9 / 4) = ceil(2.25) = 3
        (3, 5.0, 2.0, 8),  # ceil(3 * 2.5) = ceil(7.5) = 8
        (4, 0.5, 2.0, 1),  # ceil(4 * 0.25) = 1
        (5, 3.0, 3.0, 5),  # ratio 1: unchanged
    ],
)
def test_hpa_formula(pods: int, waiting: float, target: float, expected: int) -> None:
    spec = auto(waiting=target, up=(0, 100), down=(0, 100))
    got = decide_replicas(spec, Bounds(1, 100), pods, Signals(pods=pods, waiting=waiting), (), NOW)
    assert got.desired == expected
