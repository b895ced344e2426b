"""A shadow step: the canary gets one replica and no traffic, the router mirrors to it, and the
step waits for enough mirrored requests before the agreement decides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from test_rollout_machine import T0, obs, rolling, scales, spec, weights

from slmfleet.analysis.shadow_checks import shadow_checks, shadow_query
from slmfleet.api.rollout import ShadowStep
from slmfleet.api.rollout_status import RolloutPhase, RolloutStatus
from slmfleet.rollout.machine import next_state
from slmfleet.rollout.plan import replicas_of, shadow_of

pytestmark = pytest.mark.unit

SHADOW = [{"weight": 0, "shadow": {"percent": 20, "minRequests": 100}}, {"weight": 50}]


class Counts:
    def __init__(self, judged: float | None, agreed: float | None) -> None:
        self.values = {'result!="dropped"': judged, 'result="agree"': agreed}

    def query(self, promql: str, now: datetime) -> float | None:
        return next(v for k, v in self.values.items() if k in promql)


@pytest.mark.parametrize(
    ("judged", "agreed", "verdicts"),
    [
        (None, None, ("inconclusive", "inconclusive")),  # nothing mirrored yet
        (40, 40, ("inconclusive", "inconclusive")),  # fewer than minRequests
        (200, 190, ("pass", "pass")),  # 95 % >= 90 %
        (200, 150, ("pass", "fail")),  # 75 %
    ],
)
def test_shadow_checks(judged: Any, agreed: Any, verdicts: tuple[str, str]) -> None:
    step = ShadowStep(percent=20, min_requests=100)
    checks = shadow_checks(step, Counts(judged, agreed), "ns", "new", T0)
    assert tuple(c.verdict for c in checks) == verdicts
    assert checks[0].value == (judged or 0)


def test_the_query_sums_the_canary_mirrors_of_every_router_pod() -> None:
    assert shadow_query("ns", "abc", 'result="agree"') == (
        'sum(slmfleet_router_shadow_requests_total{namespace="ns",revision="abc",result="agree"})'
    )


def test_the_canary_gets_one_replica_and_no_weight_at_a_shadow_step() -> None:
    status = RolloutStatus(
        phase="Analyzing", stable_revision="old", canary_revision="new", step=0, weight=0
    )
    s = spec(steps=SHADOW)
    assert shadow_of(s, status) is not None
    assert replicas_of(s, status, "new", 4) == {"old": 4, "new": 1}
    assert replicas_of(spec(steps=SHADOW, noSurge=True), status, "new", 4) == {"old": 3, "new": 1}
    after = status.model_copy(update={"step": 1, "weight": 50})
    assert shadow_of(s, after) is None
    assert shadow_of(s, status.model_copy(update={"phase": RolloutPhase.ROLLED_BACK})) is None


def test_a_pending_shadow_step_waits_without_counting_inconclusive() -> None:
    pending = shadow_checks(ShadowStep(percent=20), Counts(40, 40), "ns", "new", T0)
    state = rolling(weight=0)
    t = next_state(spec(steps=SHADOW), state, obs(checks=pending), T0)
    r = t.state.rollout
    assert r is not None and r.inconclusive_checks == 0 and r.step == 0
    assert r.message == "shadow: 40 requests mirrored"
    assert weights(t) == {"old": 100, "new": 0} and scales(t).get("new", 1) == 1


def test_a_shadow_step_that_agrees_moves_to_the_first_weighted_step() -> None:
    agreed = shadow_checks(ShadowStep(percent=20), Counts(200, 199), "ns", "new", T0)
    t = next_state(spec(steps=SHADOW), rolling(weight=0), obs(checks=agreed), T0)
    r = t.state.rollout
    assert r is not None and r.step == 1 and r.weight == 50


def test_a_shadow_step_that_disagrees_rolls_back() -> None:
    disagreed = shadow_checks(ShadowStep(percent=20), Counts(200, 100), "ns", "new", T0)
    t = next_state(spec(steps=SHADOW, failureLimit=0), rolling(weight=0), obs(checks=disagreed), T0)
    r = t.state.rollout
    assert r is not None and r.phase == "RollingBack" and "shadowAgreement=0.5" in r.message


def test_without_prometheus_a_shadow_step_is_missing_data_not_waiting() -> None:
    checks = shadow_checks(ShadowStep(percent=20), None, "ns", "new", T0)
    assert [(c.name, c.verdict, c.threshold) for c in checks] == [
        ("shadowAgreement", "inconclusive", "needs Prometheus")
    ]
    t = next_state(spec(steps=SHADOW), rolling(weight=0), obs(checks=checks), T0)
    assert t.state.rollout is not None and t.state.rollout.inconclusive_checks == 1
