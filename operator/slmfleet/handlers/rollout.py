"""Rollout driver: a kopf daemon per SmallModel runs the state machine and carries out its actions.

Each tick reads the SmallModel afresh, observes its revisions' Deployments, gathers an analysis
when one is due, calls the pure :func:`~slmfleet.rollout.machine.next_state` and applies the
actions: replica counts, deletions, routes, Events, annotation clean-up, a restored spec. All
state lives in ``status.rollout`` and ``status.history``, so a restarted operator resumes.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes.client.exceptions import ApiException

from slmfleet import GROUP, VERSION
from slmfleet.api.errors import SpecError
from slmfleet.api.parse import parse_smallmodel, plain
from slmfleet.api.rollout_status import CheckResult, EvalResult
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.deployment import ModelRef, desired_replicas, revision_deployment_name
from slmfleet.handlers.clients import kube_client
from slmfleet.handlers.observe import engine_deployments
from slmfleet.handlers.rollout_analysis import gather
from slmfleet.k8s import Kube
from slmfleet.ownership import NameConflictError, apply_owned, delete_owned
from slmfleet.redact import redact
from slmfleet.rollout.history import restore_patch
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
    Transition,
)
from slmfleet.traffic.provider import TrafficProvider
from slmfleet.traffic.providers import provider_for

log = logging.getLogger(__name__)

MAX_TICK_SECONDS = 2.0
# Ticks block on HTTP (the API, Prometheus, pod probes): they get their own threads, so a slow
# tick can never starve the event loop's default executor, which kopf's own I/O relies on.
TICK_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rollout-tick")
ANALYZED = ("Progressing", "Analyzing", "Paused")


def _ready_to_drive(body: Mapping[str, Any], model: SmallModel) -> bool:
    """The reconcile has caught up with this spec and found a revision to serve."""
    status = model.status
    generation = int(body["metadata"].get("generation") or 0)
    if status.template_hash is None or status.observed_generation != generation:
        return False
    rolled_back = status.rollout is not None and status.rollout.phase == "RolledBack"
    return status.phase != "Stalled" or rolled_back


def observe_rollout(kube: Kube, body: Mapping[str, Any], model: SmallModel) -> Observations:
    status, spec = model.status, model.spec
    revision = status.template_hash or ""
    ready = {rev: s.ready_replicas for rev, s in engine_deployments(kube, model).items()}
    now = datetime.now(UTC)
    r = status.rollout
    checks: tuple[CheckResult, ...] = ()
    evaluation: EvalResult | None = None
    if (
        r is not None
        and r.phase in ANALYZED
        and r.canary_revision == revision
        and ready.get(revision, 0) > 0
        and analysis_due(r, spec.rollout.analysis_interval_seconds, now)
    ):
        checks, evaluation = gather(kube, model, revision, r.stable_revision, r.step, now)
    return Observations(
        revision=revision,
        total=desired_replicas(spec),
        ready=ready,
        spec=plain(body.get("spec") or {}),
        checks=checks,
        evaluation=evaluation,
        requests=Requests.from_annotations(body["metadata"].get("annotations") or {}),
        paused=spec.paused,
    )


def _scale(kube: Kube, model: SmallModel, action: Scale, existing: set[str]) -> None:
    """Set a revision's replicas (a no-op patch changes nothing and wakes no watcher)."""
    if action.revision not in existing:
        return  # not created yet: the reconcile creates it with the planned replicas
    name = revision_deployment_name(model.metadata.name, action.revision)
    kube.merge_patch(
        "Deployment", name, {"spec": {"replicas": action.replicas}}, model.metadata.namespace
    )


# What each model's routing objects were last applied as, and when: a tick re-applies them only
# when they change or ROUTE_RESYNC_SECONDS have passed (which also repairs hand-made drift).
ROUTE_RESYNC_SECONDS = 60.0
_applied: dict[str, tuple[str, float]] = {}


def _route(kube: Kube, provider: TrafficProvider, ref: ModelRef, action: SetWeights) -> None:
    """Apply the provider's routing objects (the router's split follows status instead)."""
    children = provider.objects(ref, dict(action.weights))
    rendered = json.dumps(children, sort_keys=True)
    last = _applied.get(ref.uid)
    now = time.monotonic()
    if last is not None and last[0] == rendered and now - last[1] < ROUTE_RESYNC_SECONDS:
        return
    try:
        apply_owned(kube, children)
    except NameConflictError as err:
        log.warning("routing of %s/%s not applied: %s", ref.namespace, ref.name, err)
        _applied.pop(ref.uid, None)
        return
    except ApiException as err:
        log.warning("applying the routing of %s/%s failed: %s", ref.namespace, ref.name, err.reason)
        _applied.pop(ref.uid, None)
        return
    _applied[ref.uid] = (rendered, now)


def _delete_revision(kube: Kube, provider: TrafficProvider, ref: ModelRef, revision: str) -> None:
    """Delete a revision's Deployment and per-revision objects, each only if it is ours."""
    objects = [("Deployment", revision_deployment_name(ref.name, revision))]
    for kind, child in [*objects, *provider.revision_objects(ref, revision)]:
        try:
            delete_owned(kube, kind, child, ref.namespace, [ref.uid])
        except NameConflictError as err:
            log.warning("%s", err)


def apply_transition(
    kube: Kube, body: Mapping[str, Any], model: SmallModel, t: Transition, existing: set[str]
) -> None:
    """Carry out ``t``; ``existing`` holds the revisions whose Deployments were observed."""
    ns, name = model.metadata.namespace, model.metadata.name
    provider = provider_for(model.spec.rollout)
    ref = ModelRef(name, ns or "default", model.metadata.uid or "")
    for action in t.actions:
        if isinstance(action, Scale):
            _scale(kube, model, action, existing)
        elif isinstance(action, DeleteRevision):
            _delete_revision(kube, provider, ref, action.revision)
        elif isinstance(action, SetWeights):
            _route(kube, provider, ref, action)
        elif isinstance(action, Emit):
            kopf.event(cast(kopf.Body, body), type=action.type, reason=action.reason,
                       message=redact(action.message)[:1024])  # fmt: skip
        elif isinstance(action, RestoreSpec):
            patch = restore_patch(plain(body.get("spec") or {}), action.spec)
            kube.merge_patch("SmallModel", name, {"spec": patch}, ns)
    clear = annotations_to_clear(t.actions)
    if clear:
        kube.merge_patch("SmallModel", name, {"metadata": {"annotations": dict(clear)}}, ns)
    rollout = t.state.rollout
    status = {
        "rollout": rollout.model_dump(mode="json", by_alias=True) if rollout else None,
        "history": [h.to_body() for h in t.state.history],
    }
    old = {k: (body.get("status") or {}).get(k) for k in ("rollout", "history")}
    if plain(status) != plain(old):
        kube.merge_patch("SmallModel", name, {"status": status}, ns, "status")


def tick(kube: Kube, name: str, namespace: str | None) -> Transition | None:
    """One pass of the machine over one SmallModel; None when there was nothing to drive."""
    body = kube.get("SmallModel", name, namespace)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    try:
        model = parse_smallmodel(body)
    except SpecError:
        return None  # the reconcile reports it
    if not _ready_to_drive(body, model):
        return None
    obs = observe_rollout(kube, body, model)
    state = RolloutState(model.status.rollout, tuple(model.status.history))
    t = next_state(model.spec.rollout, state, obs, datetime.now(UTC))
    apply_transition(kube, body, model, t, set(obs.ready))  # obs.ready: every Deployment
    return t


@kopf.daemon(GROUP, VERSION, "smallmodels", cancellation_timeout=10.0)
async def drive(
    name: str,
    namespace: str | None,
    uid: str | None,
    spec: kopf.Spec,
    stopped: kopf.DaemonStopped,
    **_: Any,
) -> None:
    """Tick at least every analysis interval (more often, so readiness is noticed quickly).

    The loop is a coroutine, so kopf can cancel it when the model is deleted or the operator
    exits; each tick's blocking I/O runs in a worker thread (with this context, for Events).
    """
    kube = kube_client()
    try:
        while not stopped:
            try:
                context = contextvars.copy_context()  # kopf.event needs the handler's context
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(TICK_POOL, context.run, tick, kube, name, namespace)
            except ApiException as err:
                log.warning("rollout of %s/%s: API error %s", namespace, name, err.status)
            interval = float((spec.get("rollout") or {}).get("analysisIntervalSeconds") or 30)
            await stopped.wait(min(interval, MAX_TICK_SECONDS))
    finally:
        _applied.pop(uid or "", None)
