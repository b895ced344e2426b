"""The drain of a leaving revision in the one plan: weight 0 first, then every router on a config
without it, then its requests in flight, then the scale-down or deletion; each stage bounded by
engine.drainTimeoutSeconds, all of it kept in status.draining so a restarted operator resumes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from test_model_plan import (
    IMAGE,
    RESYNC,
    T0,
    Analysis,
    _canary,
    body,
    engine,
    observed,
    plan,
    revision_of,
)

from slmfleet.api.drain_status import DrainStage, DrainStatus
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel_status import SmallModelStatus
from slmfleet.reconcile.drain import DRAIN_RECHECK_SECONDS, DrainObservation, plan_drains
from slmfleet.reconcile.model_plan import ModelPlan, plan_model
from slmfleet.rollout.transition_builder import stamp
from slmfleet.traffic.gateway_api import revision_service_name

pytestmark = pytest.mark.unit

AWAY = DrainObservation(routed_away=True, in_flight=0)
IN_FLIGHT = DrainObservation(routed_away=True, in_flight=2)
ROUTERS_BEHIND = DrainObservation(False, 2, "router 10.0.0.1:8080 to stop sending to it")


def entry(stage: DrainStage, started: datetime, stage_started: datetime | None = None) -> Any:
    return DrainStatus(
        revision="old",
        cause="Promoted",
        stage=stage,
        started_at=stamp(started),
        stage_started_at=stamp(stage_started or started),
    )


@pytest.mark.parametrize(
    ("current", "obs", "later", "held", "stage", "reason"),
    [
        # a revision starts to leave: held, waiting for the routers, whatever is observed
        ((), AWAY, 0, True, DrainStage.ROUTING, "Draining"),
        # routers still on a config that sends to it: held, and status says which router
        ((entry(DrainStage.ROUTING, T0),), ROUTERS_BEHIND, 5, True, DrainStage.ROUTING, None),
        # nothing observed yet (the actor had no answer): held
        ((entry(DrainStage.ROUTING, T0),), None, 5, True, DrainStage.ROUTING, None),
        # every router routed away, requests still in flight: the Requests stage
        (
            (entry(DrainStage.ROUTING, T0),),
            DrainObservation(True, 3),
            2,
            True,
            DrainStage.REQUESTS,
            None,
        ),
        # routed away and nothing in flight: released in the same pass
        ((entry(DrainStage.ROUTING, T0),), AWAY, 2, False, None, "Drained"),
        # restarted mid-drain: the Requests stage from status, now empty: released
        ((entry(DrainStage.REQUESTS, T0),), AWAY, 3, False, None, "Drained"),
        # a router never confirms: released at the timeout with a Warning
        ((entry(DrainStage.ROUTING, T0),), ROUTERS_BEHIND, 30, False, None, "DrainTimedOut"),
        # requests that never finish: released drainTimeout after the stage began
        (
            (entry(DrainStage.REQUESTS, T0 - timedelta(seconds=40), T0),),
            DrainObservation(True, 1),
            29,
            True,
            DrainStage.REQUESTS,
            None,
        ),
        (
            (entry(DrainStage.REQUESTS, T0 - timedelta(seconds=40), T0),),
            DrainObservation(True, 1),
            30,
            False,
            None,
            "DrainTimedOut",
        ),
        # in flight unknown (a router did not answer): never counted as none
        ((entry(DrainStage.REQUESTS, T0),), DrainObservation(True, None), 5, True, None, None),
    ],
)  # fmt: skip
def test_plan_drains(
    current: tuple[DrainStatus, ...],
    obs: DrainObservation | None,
    later: int,
    held: bool,
    stage: DrainStage | None,
    reason: str | None,
) -> None:
    observed_ = {"old": obs} if obs is not None else {}
    p = plan_drains(current, {"old": "Promoted"}, observed_, 30, T0 + timedelta(seconds=later))
    assert ("old" in p.held) is held
    if stage is not None:
        assert [d.stage for d in p.draining] == [stage]
    if held:
        assert p.due == DRAIN_RECHECK_SECONDS and p.draining[0].message
    else:
        assert p.draining == () and p.due is None
    assert [e.reason for e in p.events] == ([reason] if reason else [])


def test_a_drain_whose_revision_stays_is_dropped_and_no_timeout_drains_nothing() -> None:
    current = (entry(DrainStage.ROUTING, T0),)
    assert plan_drains(current, {}, {}, 30, T0).draining == ()  # the spec came back to it
    released = plan_drains((), {"old": "Promoted"}, {}, 0, T0)
    assert released.held == frozenset() and released.events == ()


def test_the_waiting_message_says_what_is_waited_on() -> None:
    current = (entry(DrainStage.ROUTING, T0),)
    p = plan_drains(current, {"old": "Promoted"}, {"old": ROUTERS_BEHIND}, 30, T0)
    assert "router 10.0.0.1:8080" in p.draining[0].message
    moved = plan_drains(current, {"old": "Promoted"}, {"old": DrainObservation(True, 4)}, 30, T0)
    assert "requests in flight" in moved.draining[0].message
    # the status does not change with the count (it would be written on every pass)
    one_left = {"old": DrainObservation(True, 1)}
    assert plan_drains(moved.draining, {"old": "Promoted"}, one_left, 30, T0).draining == (
        moved.draining
    )


def _plan(b: dict[str, Any], o: Any, now: datetime, drains: Any = None) -> ModelPlan:
    m = parse_smallmodel(b)
    p = plan_model(m, b, o, Analysis(), IMAGE, now, RESYNC, None, drains)
    SmallModelStatus.model_validate(p.status)  # what the actor checks before writing it
    return p


def _annotated(b: dict[str, Any], key: str) -> dict[str, Any]:
    b["metadata"].setdefault("annotations", {})[f"slmfleet.io/{key}"] = "true"
    return b


def test_a_promotion_holds_the_old_stable_until_routers_moved_and_requests_finished() -> None:
    old = revision_of(body())
    b = _annotated(_canary(old), "promote")
    new = b["status"]["rollout"]["canaryRevision"]
    both = observed({old: (1, 1), new: (1, 1)})
    p = _plan(b, both, T0)
    assert p.status["rollout"]["phase"] == "Promoting"
    assert p.scales == ()  # not Scale(old, 0): it drains first
    assert p.status["draining"][0]["revision"] == old
    assert p.status["draining"][0]["stage"] == "Routing"
    assert "Draining" in [e.reason for e in p.events] and p.next_due == DRAIN_RECHECK_SECONDS

    # next pass: the canary is whole (Succeeded, old to be deleted); a router is behind
    b2 = {**b, "metadata": {**b["metadata"], "annotations": {}}, "status": p.status}
    p2 = _plan(b2, both, T0 + timedelta(seconds=1), {old: ROUTERS_BEHIND})
    assert p2.status["rollout"]["phase"] == "Succeeded"
    assert p2.deletions == () and "10.0.0.1" in p2.status["draining"][0]["message"]

    # routed away, 2 requests in flight; then the operator restarts and plans from status alone
    p3 = _plan({**b2, "status": p2.status}, both, T0 + timedelta(seconds=2), {old: IN_FLIGHT})
    assert p3.deletions == () and p3.status["draining"][0]["stage"] == "Requests"
    p4 = _plan({**b2, "status": p3.status}, both, T0 + timedelta(seconds=3), {old: AWAY})
    assert [d.revision for d in p4.deletions] == [old]
    assert p4.status["draining"] is None and "Drained" in [e.reason for e in p4.events]


@pytest.mark.parametrize(("request_", "cause"), [("abort", "RolloutAborted")])
def test_an_abort_keeps_the_canary_replicas_until_drained(request_: str, cause: str) -> None:
    old = revision_of(body())
    b = _annotated(_canary(old), request_)
    new = b["status"]["rollout"]["canaryRevision"]
    both = observed({old: (1, 1), new: (1, 1)})
    p = _plan(b, both, T0)
    assert p.status["rollout"]["phase"] == "RollingBack" and p.status["rollout"]["weight"] == 0
    assert engine(p)["spec"]["replicas"] == 1  # the canary (the spec's revision) is held
    assert (p.status["draining"][0]["revision"], p.status["draining"][0]["cause"]) == (new, cause)
    b2 = {**b, "metadata": {**b["metadata"], "annotations": {}}, "status": p.status}
    done = _plan(b2, both, T0 + timedelta(seconds=1), {new: AWAY})
    assert engine(done)["spec"]["replicas"] == 0 and done.status["draining"] is None


def test_a_canary_never_ready_needs_no_drain() -> None:
    old = revision_of(body())
    b = _canary(old, phase="Progressing")
    new = b["status"]["rollout"]["canaryRevision"]
    p = plan(b, observed({old: (1, 1), new: (1, 0)}), T0 + timedelta(seconds=121))
    assert engine(p)["spec"]["replicas"] == 0 and p.status["draining"] is None


def test_a_scale_to_zero_is_not_held_by_the_plan() -> None:
    rev = revision_of(body())
    serving = plan(body(), observed({rev: (1, 1)})).status
    p = plan(body(serving, replicas=0, minReplicas=0), observed({rev: (1, 1)}))
    assert engine(p)["spec"]["replicas"] == 0 and p.status["draining"] is None


def test_gateway_api_gives_weight_0_before_the_old_revision_and_its_service_go() -> None:
    old = revision_of(body())
    b = _annotated(_canary(old), "promote")
    b["spec"]["rollout"].update(trafficProvider="gateway-api", gatewayRef={"name": "gw"})
    new = b["status"]["rollout"]["canaryRevision"]
    both = observed({old: (1, 1), new: (1, 1)})
    p = _plan(b, both, T0)
    route = next(o for o in p.apply if o["kind"] == "HTTPRoute")
    refs = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    name = b["metadata"]["name"]
    assert refs[revision_service_name(name, old)] == 0
    assert refs[revision_service_name(name, new)] == 100
    assert p.scales == () and p.deletions == ()  # its replicas (and Service) stay for now
    b2 = {**b, "metadata": {**b["metadata"], "annotations": {}}, "status": p.status}
    done = _plan(b2, both, T0 + timedelta(seconds=1), {old: AWAY})
    assert [d.revision for d in done.deletions] == [old]  # with its Service (revision_objects)
