"""The drain of a leaving revision, decided purely: route away -> requests finish -> scale down.

A revision leaves when a promotion replaces the old stable one or a rollback or abort removes the
canary. The rollout machine asks for it to be scaled to 0 or deleted; this plan holds that back
in three moves, each remembered in ``status.draining`` (so a restarted operator resumes it):

1. Routing: the revision has weight 0 in what the operator writes (the router's config, the
   HTTPRoute); the scale-down waits until every ready router replica serves a config generation
   that sends it nothing (and the HTTPRoute carries weight 0).
2. Requests: the requests the routers still have in flight on it finish.
3. Released: the scale-down or deletion goes ahead, and the entry leaves ``status.draining``.

Each stage gives up after ``engine.drainTimeoutSeconds`` with a Warning saying what it still
waited on; the pods then drain on their own (preStop, vLLM's --shutdown-timeout). What was
observed (``DrainObservation``) is gathered by the actor only while a drain is pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from slmfleet.api.drain_status import DrainStage, DrainStatus
from slmfleet.api.rollout_status import RolloutPhase as Phase
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.reconcile.smallmodel import DeploymentState
from slmfleet.rollout.state import Emit
from slmfleet.rollout.transition_builder import seconds_since, stamp

DRAIN_RECHECK_SECONDS = 1.0
"""How soon a model with a pending drain is planned again (nothing watched says when a router
loaded a config or a request finished)."""


@dataclass(frozen=True)
class DrainObservation:
    """What the actor saw of one draining revision this pass."""

    routed_away: bool
    """Every ready router replica serves a config that sends the revision no new request, and
    the HTTPRoute (gateway-api) gives it weight 0."""
    in_flight: int | None = None
    """Requests the routers still have on the revision's endpoints (None: unknown)."""
    waiting_on: str = ""
    """What is not there yet, in words (a router on an older config, an HTTPRoute not updated)."""


@dataclass(frozen=True)
class DrainPlan:
    draining: tuple[DrainStatus, ...]
    """The new ``status.draining``."""
    held: frozenset[str]
    """Leaving revisions whose scale-down or deletion must wait."""
    events: tuple[Emit, ...] = ()

    @property
    def due(self) -> float | None:
        """Seconds until the drain must be looked at again (None: nothing pending)."""
        return DRAIN_RECHECK_SECONDS if self.draining else None


def _entry(revision: str, cause: str, stage: DrainStage, now: datetime, msg: str) -> DrainStatus:
    at = stamp(now)
    return DrainStatus(
        revision=revision,
        cause=cause,
        stage=stage,
        started_at=at,
        stage_started_at=at,
        message=msg,
    )


def _routing_message(revision: str, obs: DrainObservation | None) -> str:
    what = obs.waiting_on if obs is not None and obs.waiting_on else "every router's config"
    return f"revision {revision} has weight 0; waiting for {what}"


def _requests_message(revision: str, in_flight: int | None) -> str:
    # no count here: a status that changed with every request would be written every pass
    what = "a router to report" if in_flight is None else "the routers' requests in flight"
    return f"no router sends new requests to {revision}; waiting for {what}"


class _Drains:
    def __init__(self, timeout: int, now: datetime) -> None:
        self.timeout, self.now = timeout, now
        self.kept: list[DrainStatus] = []
        self.events: list[Emit] = []

    def expired(self, since: str) -> bool:
        return (seconds_since(since, self.now) or 0.0) >= self.timeout

    def hold(self, entry: DrainStatus) -> None:
        self.kept.append(entry)

    def release(self, entry: DrainStatus, why: str, warning: bool = False) -> None:
        if warning:
            self.events.append(Emit("Warning", "DrainTimedOut", f"{entry.revision}: {why}"))
        else:
            self.events.append(Emit("Normal", "Drained", f"{entry.revision}: {why}"))

    def start(self, revision: str, cause: str) -> None:
        msg = _routing_message(revision, None)
        self.kept.append(_entry(revision, cause, DrainStage.ROUTING, self.now, msg))
        self.events.append(Emit("Normal", "Draining", f"{revision} leaves ({cause}): {msg}"))

    def routing(self, entry: DrainStatus, obs: DrainObservation | None) -> None:
        if obs is not None and obs.routed_away:
            moved = entry.model_copy(
                update={"stage": DrainStage.REQUESTS, "stage_started_at": stamp(self.now)}
            )
            self.requests(moved, obs)
            return
        waiting = _routing_message(entry.revision, obs)
        if self.expired(entry.started_at):
            self.release(entry, f"routing not confirmed after {self.timeout}s ({waiting})", True)
            return
        self.hold(entry.model_copy(update={"message": waiting}))

    def requests(self, entry: DrainStatus, obs: DrainObservation | None) -> None:
        in_flight = obs.in_flight if obs is not None else None
        if in_flight == 0:
            self.release(entry, "no router sends to it and no request is in flight")
            return
        if self.expired(entry.stage_started_at):
            n = "unknown" if in_flight is None else str(in_flight)
            why = f"{n} requests still in flight after {self.timeout}s; its pods drain them"
            self.release(entry, why, warning=True)
            return
        self.hold(
            entry.model_copy(update={"message": _requests_message(entry.revision, in_flight)})
        )


def plan_drains(
    current: Sequence[DrainStatus],
    leaving: Mapping[str, str],
    observed: Mapping[str, DrainObservation],
    timeout_seconds: int,
    now: datetime,
) -> DrainPlan:
    """The drains after this pass. ``leaving`` maps each revision the rollout wants gone (scaled
    to 0 or deleted) that still serves to why it leaves; a drain whose revision no longer leaves
    (the spec came back to it) is dropped. A revision is released (absent from ``held``) once it
    is drained or a stage timed out."""
    by_revision = {d.revision: d for d in current}
    drains = _Drains(timeout_seconds, now)
    for revision, cause in sorted(leaving.items()):
        entry = by_revision.get(revision)
        if entry is None:
            if timeout_seconds <= 0:
                continue  # no drain asked for: released at once
            drains.start(revision, cause)
        elif entry.stage is DrainStage.ROUTING:
            drains.routing(entry, observed.get(revision))
        else:
            drains.requests(entry, observed.get(revision))
    kept = tuple(drains.kept)
    return DrainPlan(kept, frozenset(d.revision for d in kept), tuple(drains.events))


def leave_cause(revision: str, rollout: RolloutStatus | None) -> str:
    """Why ``revision`` leaves, for status and Events."""
    if rollout is not None and revision == rollout.failed_revision:
        return rollout.rollback_reason or "RolledBack"
    if rollout is not None and rollout.phase in (Phase.PROMOTING, Phase.SUCCEEDED):
        return "Promoted"  # the stable revision before the one promoted
    return "Replaced"


def leaving_revisions(
    gone: Sequence[str],
    revisions: Mapping[str, DeploymentState],
    rollout: RolloutStatus | None,
) -> dict[str, str]:
    """Of the revisions the rollout wants scaled to 0 or deleted, those that still serve (asked
    for replicas, some ready), each with why it leaves. One already scaled to 0 needs no drain."""
    out = {}
    for revision in gone:
        state = revisions.get(revision)
        if state is not None and state.asked > 0 and state.ready_replicas > 0:
            out[revision] = leave_cause(revision, rollout)
    return out
