"""The one plan of a SmallModel (pure): spec, status and what was observed in; everything out.

``plan_model`` is the only place that decides what a SmallModel's revisions should look like:
the spec's engine Deployment and its replicas, the replicas of the other revisions, the routing
objects of the traffic provider, the revisions and objects to delete, the whole status (fit
plan, rollout, history, kstatus conditions), the Events, and when the model is next due. The
reconcile and the rollout are one actor that applies it (handlers/model_sync.py); the router
config reads the rollout it wrote (rollout/plan.py), so nobody recomputes a piece of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slmfleet.api.eval_progress import EvalProgress
from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import CheckResult, EvalResult, RolloutStatus
from slmfleet.api.rollout_status import RolloutPhase as Phase
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.deployment import ModelRef, desired_replicas
from slmfleet.conditions import Verdict, conditions_for, reported
from slmfleet.ownership import NAME_CONFLICT
from slmfleet.reconcile.disruption_budget import Removal, stale_budgets
from slmfleet.reconcile.drain import DrainObservation, DrainPlan, leaving_revisions, plan_drains
from slmfleet.reconcile.smallmodel import Decision, EngineDraft, Observed, draft, finish
from slmfleet.rollout.machine import analysis_due, annotations_to_clear, next_state
from slmfleet.rollout.state import (
    DeleteRevision,
    Emit,
    Observations,
    Requests,
    RestoreSpec,
    RolloutState,
    Scale,
    SetWeights,
)
from slmfleet.rollout.transition_builder import seconds_since
from slmfleet.traffic.providers import provider_for

MIN_DUE_SECONDS = 0.5
NAME_CONFLICT_RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Analysis:
    """One analysis gathered for this plan (empty when none was due)."""

    checks: tuple[CheckResult, ...] = ()
    evaluation: EvalResult | None = None
    at: datetime | None = None
    """When it was started (it counts as of then); None: now."""
    pending: bool = False
    """It is still being gathered: not counted by this plan."""
    progress: EvalProgress | None = None
    """While pending: how far its eval has got (status.evalProgress)."""


@dataclass(frozen=True)
class ModelPlan:
    apply: tuple[dict[str, Any], ...] = ()
    """Objects to server-side apply: the spec's engine Deployment, Service, PDB, routing."""
    scales: tuple[Scale, ...] = ()
    """Replicas of the other revisions' Deployments (scale-downs first)."""
    deletions: tuple[DeleteRevision, ...] = ()
    removals: tuple[Removal, ...] = ()
    """Objects of the model it no longer wants (a budget it outgrew, disruption_budget.py)."""
    status: dict[str, Any] = field(default_factory=dict)
    events: tuple[Emit, ...] = ()
    clear_annotations: Mapping[str, None] = field(default_factory=dict)
    restore: RestoreSpec | None = None
    next_due: float | None = None
    """Seconds until the model must be planned again although nothing changed."""
    verdict: Verdict | None = None


def analysis_wanted(
    rollout: RolloutStatus | None,
    spec: RolloutSpec,
    revision: str,
    ready: Mapping[str, int],
    now: datetime,
) -> bool:
    """Whether the handler should gather an analysis of the canary before planning."""
    return (
        rollout is not None
        and rollout.phase in (Phase.ANALYZING, Phase.PAUSED)  # Progressing starts the clock
        and rollout.canary_revision == revision
        and ready.get(revision, 0) > 0
        and analysis_due(rollout, spec.analysis_interval_seconds, now)
    )


def next_due(
    spec: RolloutSpec, rollout: RolloutStatus | None, now: datetime, resync: float
) -> float:
    """When the model is due although no watch event arrives: the next analysis, the end of
    the progress deadline, else the slow resync."""
    due = resync
    if rollout is None or rollout.canary_revision is None:
        return due
    phase = rollout.phase
    if phase in (Phase.ANALYZING, Phase.PAUSED):  # Progressing waits for a readiness event
        since = seconds_since(rollout.last_analysis_at, now)
        wait = 0.0 if since is None else spec.analysis_interval_seconds - since
        due = min(due, wait)
    if phase in (Phase.PROGRESSING, Phase.ROLLING_BACK):
        since = seconds_since(rollout.step_started_at, now) or 0.0
        due = min(due, spec.progress_deadline_seconds - since + 1.0)
    return max(MIN_DUE_SECONDS, due)


def _drivable(body: Mapping[str, Any], d: EngineDraft | Decision) -> bool:
    return isinstance(d, EngineDraft) and not (body.get("metadata") or {}).get("deletionTimestamp")


def _events(
    emits: tuple[Emit, ...],
    verdict: Verdict,
    status: Mapping[str, Any],
    body_status: Mapping[str, Any],
    generation: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], tuple[Emit, ...]]:
    conditions, transitions = conditions_for(
        verdict, body_status.get("conditions") or [], generation, now
    )
    out = list(emits)
    for r in reported(transitions):
        out.append(Emit("Warning" if r.warning else "Normal", r.reason, r.message, transition=True))
    return conditions, tuple(out)


def plan_model(
    model: SmallModel,
    body: Mapping[str, Any],
    observed: Observed,
    analysis: Analysis,
    default_image: str,
    now: datetime,
    resync: float,
    drafted: EngineDraft | Decision | None = None,
    drains: Mapping[str, DrainObservation] | None = None,
) -> ModelPlan:
    """Everything that should be true of ``model`` now (see the module doc). ``drafted`` is
    :func:`draft`'s result when the caller already has it; ``drains`` what the actor observed of
    the revisions in ``status.draining`` (see reconcile/drain.py)."""
    meta = body.get("metadata") or {}
    generation = int(meta.get("generation") or 0)
    body_status = body.get("status") or {}
    d = drafted if drafted is not None else draft(model, observed, default_image)
    if not _drivable(body, d):
        decision = d if isinstance(d, Decision) else Decision((), Verdict(False, "Deleting", ""))
        conditions, events = _events(
            (), decision.verdict, decision.status, body_status, generation, now
        )
        status = {
            **decision.status,
            "conditions": conditions,
            "observedGeneration": generation,
            "evalProgress": None,  # no analysis of an undrivable model
        }
        return ModelPlan(
            apply=decision.children,  # a model waiting for its weight cache creates the cache
            removals=()
            if meta.get("deletionTimestamp")
            else stale_budgets(model, observed.budgets),
            status=status,
            events=events,
            next_due=resync,
            verdict=decision.verdict,
        )
    assert isinstance(d, EngineDraft)
    spec = model.spec
    ready = {rev: s.ready_replicas for rev, s in observed.revisions.items()}
    obs = Observations(
        revision=d.revision,
        total=desired_replicas(spec),
        ready=ready,
        spec=dict(body.get("spec") or {}),
        checks=analysis.checks,
        evaluation=analysis.evaluation,
        analysis_at=analysis.at,
        analysis_pending=analysis.pending,
        requests=Requests.from_annotations(meta.get("annotations") or {}),
        paused=spec.paused,
    )
    state = RolloutState(model.status.rollout, tuple(model.status.history))
    t = next_state(spec.rollout, state, obs, now)
    rollout = t.state.rollout
    decision = finish(model, observed, d, rollout)
    provider = provider_for(spec.rollout)
    ref = ModelRef(
        model.metadata.name, model.metadata.namespace or "default", model.metadata.uid or ""
    )
    routing: list[dict[str, Any]] = []
    scales: list[Scale] = []
    deletions: list[DeleteRevision] = []
    emits: list[Emit] = []
    restore: RestoreSpec | None = None
    for action in t.actions:
        if isinstance(action, SetWeights):
            routing += provider.objects(ref, dict(action.weights))
        elif isinstance(action, Scale) and action.revision != d.revision:
            if action.revision in observed.revisions:
                scales.append(action)
        elif isinstance(action, DeleteRevision):
            deletions.append(action)
        elif isinstance(action, Emit):
            emits.append(action)
        elif isinstance(action, RestoreSpec):
            restore = action
    drain = _drain(model, observed, d.revision, rollout, decision, (scales, deletions), drains, now)
    scales = [s for s in scales if s.revision not in drain.held]
    deletions = [x for x in deletions if x.revision not in drain.held]
    emits += drain.events
    fields = {
        **decision.status,
        "rollout": rollout.model_dump(mode="json", by_alias=True) if rollout else None,
        "history": [h.to_body() for h in t.state.history],
        "draining": [x.to_body() for x in drain.draining] or None,
        "evalProgress": _progress(analysis),
    }
    conditions, events = _events(
        tuple(emits), decision.verdict, fields, body_status, generation, now
    )
    due = next_due(spec.rollout, rollout, now, resync)
    return ModelPlan(
        apply=(*decision.children, *routing),
        scales=tuple(scales),
        deletions=tuple(deletions),
        removals=stale_budgets(model, observed.budgets),
        status={**fields, "conditions": conditions, "observedGeneration": generation},
        events=events,
        clear_annotations=annotations_to_clear(t.actions),
        restore=restore,
        next_due=min(due, drain.due) if drain.due is not None else due,
        verdict=decision.verdict,
    )


def _progress(analysis: Analysis) -> dict[str, Any] | None:
    """status.evalProgress: the eval in flight, until its analysis is counted (lastEval)."""
    return analysis.progress.to_body() if analysis.pending and analysis.progress else None


def _drain(
    model: SmallModel,
    observed: Observed,
    revision: str,
    rollout: RolloutStatus | None,
    decision: Decision,
    gone_by: tuple[list[Scale], list[DeleteRevision]],
    drains: Mapping[str, DrainObservation] | None,
    now: datetime,
) -> DrainPlan:
    """The drains of the revisions this plan scales to 0 or deletes; the spec's own revision
    (a rolled-back canary) too. A held spec revision keeps the replicas it has."""
    scales, deletions = gone_by
    gone = [s.revision for s in scales if s.replicas == 0] + [x.revision for x in deletions]
    engine = next((c for c in decision.children if c["kind"] == "Deployment"), None)
    own = observed.revisions.get(revision)
    if engine is not None and engine["spec"]["replicas"] == 0:
        gone.append(revision)  # the spec's revision leaving: a rolled-back canary
    if not desired_replicas(model.spec):
        gone = []  # a scale to zero drains through its pods; the routers hold requests
    leaving = leaving_revisions(gone, observed.revisions, rollout)
    timeout = model.spec.engine.drain_timeout_seconds
    drain = plan_drains(model.status.draining or (), leaving, drains or {}, timeout, now)
    if revision in drain.held and engine is not None and own is not None:
        engine["spec"]["replicas"] = own.asked
    return drain


def name_conflict(
    plan: ModelPlan, body: Mapping[str, Any], message: str, now: datetime
) -> ModelPlan:
    """The plan when a child's name is taken by someone else's object: nothing is applied,
    scaled or deleted, the rollout does not move, and the model is Stalled (NameConflict)."""
    meta = body.get("metadata") or {}
    before = body.get("status") or {}
    verdict = Verdict(False, NAME_CONFLICT, message, stalled=True)
    generation = int(meta.get("generation") or 0)
    conditions, events = _events((), verdict, {}, before, generation, now)
    status = {
        **plan.status,
        "rollout": before.get("rollout"),
        "history": before.get("history") or [],
        "draining": before.get("draining"),
        "phase": "Stalled",
        "conditions": conditions,
    }
    # Nothing watched tells when the other object goes away: look again soon (one read each time).
    due = min(plan.next_due or NAME_CONFLICT_RECHECK_SECONDS, NAME_CONFLICT_RECHECK_SECONDS)
    return ModelPlan(status=status, events=events, next_due=due, verdict=verdict)
