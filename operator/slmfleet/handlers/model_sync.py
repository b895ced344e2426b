"""The one actor of a SmallModel: parse -> read the cache -> plan (pure) -> apply -> status.

It runs when a watch event about the model, its Deployments, pods or GPUClass enqueues the
model's key, and again when the plan says the model is next due (an analysis, a deadline, the
slow resync). Reads come from the cache; the API is written to, and read only right before a
delete (ownership and UID check). Status is patched only when it changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from slmfleet import GROUP
from slmfleet.api.errors import SpecError
from slmfleet.api.parse import parse_smallmodel, plain
from slmfleet.api.smallmodel import SmallModel
from slmfleet.api.smallmodel_status import SmallModelStatus
from slmfleet.builders.deployment import ModelRef, revision_deployment_name
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.builders.network_policy import Peers, engine_network_policy
from slmfleet.builders.router import router_selector
from slmfleet.cache.seen import UNPLANNED_STATUS
from slmfleet.conditions import Verdict, conditions_for
from slmfleet.config import settings
from slmfleet.handlers.drain_observe import observe_drains
from slmfleet.handlers.events import post_transitions
from slmfleet.handlers.observe import observe, owned_by
from slmfleet.handlers.rollout_analysis import start_gather
from slmfleet.handlers.runtime import Runtime, model_key
from slmfleet.observability.plan_record import record_plan
from slmfleet.ownership import NameConflictError, delete_owned, owner_uids
from slmfleet.reconcile.disruption_budget import Removal
from slmfleet.reconcile.model_plan import (
    Analysis,
    ModelPlan,
    analysis_wanted,
    name_conflict,
    plan_model,
)
from slmfleet.reconcile.smallmodel import EngineDraft, Observed, draft
from slmfleet.rollout.history import restore_patch
from slmfleet.traffic.providers import provider_for

log = logging.getLogger(__name__)

CONFLICT_RETRY_SECONDS = 0.2
WATCHED_KINDS = ("Deployment", "PersistentVolumeClaim", "Job")
"""Kinds the cache watches: planned only when missing or changed, so applied whenever planned."""
LEGACY_FINALIZER = f"{GROUP}/finalizer"
"""Set by earlier versions (kopf timers); nothing needs it now: children go by ownerReference."""


def _drop_legacy_finalizer(rt: Runtime, body: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    if LEGACY_FINALIZER in finalizers:
        rest = [f for f in finalizers if f != LEGACY_FINALIZER]
        patch = {"metadata": {"finalizers": rest, "resourceVersion": meta.get("resourceVersion")}}
        rt.kube.merge_patch("SmallModel", meta["name"], patch, meta.get("namespace"))


def _status_changed(body: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    before = body.get("status") or {}
    return bool(plain({k: before.get(k) for k in status}) != plain(dict(status)))


def _routed(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status fields routing may read (not an eval's progress nor the cost)."""
    return {k: v for k, v in status.items() if k not in UNPLANNED_STATUS}


def write_status(rt: Runtime, body: Mapping[str, Any], status: dict[str, Any]) -> bool:
    if not _status_changed(body, status):
        return False
    SmallModelStatus.model_validate(status)  # fail here, not at the API server, if the shape drifts
    meta = body["metadata"]
    rt.kube.merge_patch(
        "SmallModel", meta["name"], {"status": status}, meta.get("namespace"), "status"
    )
    return True


def _invalid(rt: Runtime, body: Mapping[str, Any], err: SpecError) -> None:
    meta = body["metadata"]
    generation = int(meta.get("generation") or 0)
    verdict = Verdict(False, "InvalidSpec", "; ".join(err.errors), stalled=True)
    previous = (body.get("status") or {}).get("conditions") or []
    conditions, transitions = conditions_for(verdict, previous, generation, datetime.now(UTC))
    status = {"phase": "Stalled", "conditions": conditions, "observedGeneration": generation}
    write_status(rt, body, status)
    post_transitions(body, transitions, rt.events)


def _delete_revision(rt: Runtime, model: SmallModel, revision: str) -> None:
    """Delete a revision's Deployment after a fresh read proves it is this model's."""
    ns, name = model.metadata.namespace, model.metadata.name
    dep_name = revision_deployment_name(name, revision)
    fresh = rt.kube.get("Deployment", dep_name, ns)
    if fresh is None:
        return
    meta = fresh.get("metadata") or {}
    if (meta.get("labels") or {}).get(REVISION_LABEL) != revision or not owned_by(
        meta, model.metadata.uid
    ):
        log.warning("not deleting %s/%s: not a revision of this SmallModel", ns, dep_name)
        return
    rt.kube.delete("Deployment", dep_name, ns, uid=meta.get("uid"))
    provider = provider_for(model.spec.rollout)
    ref = ModelRef(name, ns or "default", model.metadata.uid or "")
    for kind, child in provider.revision_objects(ref, revision):
        try:
            delete_owned(rt.kube, kind, child, ns, [model.metadata.uid or ""])
        except NameConflictError as err:
            log.warning("%s", err)
    rt.applier.forget(ns or "", {dep_name})


def _remove(rt: Runtime, model: SmallModel, removal: Removal) -> None:
    """Delete an object the model no longer wants, after a fresh read proves it is the one the
    cache saw and still this model's."""
    ns = model.metadata.namespace
    fresh = rt.kube.get(removal.kind, removal.name, ns)
    meta = (fresh or {}).get("metadata") or {}
    if fresh is None or meta.get("uid") != removal.uid:
        return
    if model.metadata.uid not in owner_uids(fresh):
        log.warning("not deleting %s %s/%s: not this SmallModel's", removal.kind, ns, removal.name)
        return
    rt.kube.delete(removal.kind, removal.name, ns, uid=removal.uid)
    rt.applier.forget(ns or "", {removal.name}, removal.kind)


class StaleViewError(Exception):
    """The SmallModel changed since the cache's copy: the plan was made from a stale view."""


class _Writer:
    """Writes to one SmallModel, each conditional on the resourceVersion the plan was made from
    (then the one the previous write returned): a plan from a stale cache is refused by the API
    server instead of being applied twice (two Events, a step counted twice)."""

    def __init__(self, rt: Runtime, body: Mapping[str, Any]) -> None:
        self.rt, self.meta = rt, body["metadata"]
        self.version = self.meta.get("resourceVersion")

    def patch(self, patch: dict[str, Any], subresource: str = "") -> None:
        meta = {**(patch.get("metadata") or {}), "resourceVersion": self.version}
        try:
            written = self.rt.kube.merge_patch(
                "SmallModel", self.meta["name"], {**patch, "metadata": meta},
                self.meta.get("namespace"), subresource,
            )  # fmt: skip
        except ApiException as err:
            if err.status == 409:
                raise StaleViewError(self.meta["name"]) from None
            raise
        self.version = (written.get("metadata") or {}).get("resourceVersion", self.version)


def network_policies(body: Mapping[str, Any], plan: ModelPlan) -> list[dict[str, Any]]:
    """The engine pods' NetworkPolicy, when the chart enables them and the model has engines."""
    s = settings()
    if not (s.network_policy and plan.apply):
        return []
    meta = body["metadata"]
    ref = ModelRef(meta["name"], meta.get("namespace") or "default", meta.get("uid") or "")
    peers = Peers(s.prometheus_peer, s.operator_namespace)
    return [engine_network_policy(ref, router_selector(), peers)]


def execute(
    rt: Runtime, body: Mapping[str, Any], model: SmallModel, plan: ModelPlan
) -> float | None:
    """Carry the plan out: spec and status, scale-downs, applies, deletions, then its Events.

    Every child is checked first: one that exists and is not ours (a user's Service of the
    model's name, ...) makes the model Stalled (NameConflict) and nothing is touched."""
    ns, name = model.metadata.namespace or "", model.metadata.name
    cached = {d["metadata"]["name"]: d for d in rt.cache.deployments(ns, name)}
    children = [*plan.apply, *network_policies(body, plan)]
    try:
        for obj in children:
            watched = obj["kind"] in WATCHED_KINDS
            rt.applier.check(obj, cached.get(obj["metadata"]["name"]), watched)
    except NameConflictError as err:
        plan = name_conflict(plan, body, str(err), datetime.now(UTC))
        children = []
    writer = _Writer(rt, body)
    if plan.restore is not None:
        writer.patch({"spec": restore_patch(plain(body.get("spec") or {}), plan.restore.spec)})
    if plan.clear_annotations:
        writer.patch({"metadata": {"annotations": dict(plan.clear_annotations)}})
    status_changed = _status_changed(body, plan.status)
    if status_changed:
        SmallModelStatus.model_validate(plan.status)  # fail here, not at the API server
        writer.patch({"status": plan.status}, "status")
    for scale in plan.scales:
        dep = revision_deployment_name(name, scale.revision)
        have = (cached.get(dep, {}).get("spec") or {}).get("replicas")
        if dep in cached and have != scale.replicas:
            rt.kube.merge_patch("Deployment", dep, {"spec": {"replicas": scale.replicas}}, ns)
    for obj in children:
        watched = obj["kind"] in WATCHED_KINDS
        rt.applier.apply(obj, cached.get(obj["metadata"]["name"]), watched)
    for deletion in plan.deletions:
        _delete_revision(rt, model, deletion.revision)
    for removal in plan.removals:
        _remove(rt, model, removal)
    if status_changed and _status_changed(body, _routed(plan.status)):
        rt.enqueue_routes(ns)  # the router's split follows status.rollout
    for event in plan.events:
        rt.events.post(body, event.type, event.reason, event.message, limited=event.transition)
    return plan.next_due  # a name conflict is looked at again sooner than the plan's due time


def _analysis(
    rt: Runtime, model: SmallModel, observed: Observed, revision: str, now: datetime
) -> Analysis:
    """The analysis of the canary when the plan will count it: started on the analysis pool
    when due (``pending`` until its parts answered or its deadline passed), never waited for."""
    rollout = model.status.rollout
    ready = {rev: s.ready_replicas for rev, s in observed.revisions.items()}
    key = model_key(model.metadata.namespace or "", model.metadata.name)
    if rollout is None or not analysis_wanted(rollout, model.spec.rollout, revision, ready, now):
        rt.analyses.forget(key)
        return Analysis()
    stable, step = rollout.stable_revision, rollout.step
    basis = (revision, stable, step, rollout.last_analysis_at)
    return rt.analyses.poll(
        key,
        basis,
        lambda: start_gather(rt.cache, model, revision, stable, step, now),
        lambda: rt.enqueue(key),
    )


def sync_model(rt: Runtime, namespace: str, name: str) -> float | None:
    """Plan and apply one SmallModel; the seconds until it is next due (None: gone)."""
    body = rt.cache.smallmodel(namespace, name)
    if body is None:
        rt.analyses.forget(model_key(namespace, name))
        return None
    meta = body["metadata"]
    if LEGACY_FINALIZER in (meta.get("finalizers") or []):
        _drop_legacy_finalizer(rt, body)
    if meta.get("deletionTimestamp"):
        return None
    resync = settings().resync_seconds
    try:
        model = parse_smallmodel(body)
    except SpecError as err:
        _invalid(rt, body, err)
        return resync
    now = datetime.now(UTC)
    observed = observe(rt.cache, rt.kube, model)
    image = settings().default_engine_image
    d = draft(model, observed, image)
    analysis = (
        _analysis(rt, model, observed, d.revision, now)
        if isinstance(d, EngineDraft)
        else Analysis()
    )
    drains = observe_drains(rt.cache, rt.kube, model)  # only while a revision drains
    started = time.perf_counter()
    plan = plan_model(model, body, observed, analysis, image, now, resync, d, drains)
    planned = time.perf_counter() - started
    try:
        due = execute(rt, body, model, plan)
    except StaleViewError:
        return CONFLICT_RETRY_SECONDS  # the watch brings the newer object; plan again from it
    record_plan(body, plan, analysis, planned)  # metrics, once the plan was carried out
    left = rt.analyses.seconds_left(model_key(namespace, name)) if analysis.pending else None
    return due if left is None else left  # its last part enqueues the model; its deadline latest
