"""SmallModel autoscaling timer: signals -> decide (pure) -> scale subresource -> status, Event.

Mode ``operator`` runs the decision here and writes ``spec.replicas`` through the scale
subresource; the SmallModel's own reconcile then scales its Deployment. Modes ``hpa`` and ``keda``
apply a HorizontalPodAutoscaler or a ScaledObject instead (server-side apply) and leave the
scaling to them. Switching modes or turning autoscaling off deletes what the old mode made.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slmfleet.api.autoscaling import AutoscalingSpec
from slmfleet.api.errors import SpecError
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel import SmallModel
from slmfleet.autoscale.batch import FleetSignals
from slmfleet.autoscale.decision import Bounds, Signals, decide_replicas
from slmfleet.autoscale.signals import NoSignals, PrometheusSignals, SignalProvider, SignalQuery
from slmfleet.autoscale.state import (
    Memory,
    memory_from_status,
    mode_status,
    rollout_active,
    status_patch,
)
from slmfleet.builders.autoscaler import horizontal_pod_autoscaler, scaled_object
from slmfleet.builders.deployment import desired_replicas
from slmfleet.config import settings
from slmfleet.handlers.apply import Applier
from slmfleet.handlers.cost import account_fleet
from slmfleet.handlers.runtime import runtime
from slmfleet.k8s import Kube
from slmfleet.observability.metrics import autoscaler_decision
from slmfleet.ownership import NAME_CONFLICT, NameConflictError, delete_owned
from slmfleet.reconcile.cold_start import expected_start
from slmfleet.timefmt import parse_time
from slmfleet.workqueue import Key

log = logging.getLogger(__name__)

DELEGATED_MODES = ("hpa", "keda")


class PassSignals:
    """The signals of one autoscaling pass: one batch of fleet queries per (window, idle)."""

    def __init__(self, prometheus: PrometheusSignals) -> None:
        self.prometheus = prometheus
        self._batches: dict[tuple[int, int], FleetSignals] = {}

    def read(self, query: SignalQuery) -> Signals:
        key = (query.window_seconds, query.idle_seconds)
        if key not in self._batches:
            self._batches[key] = FleetSignals.fetch(self.prometheus.vector, *key)
        return self._batches[key].read(query)


def signal_provider() -> SignalProvider:
    url = settings().prometheus_url
    return PassSignals(PrometheusSignals(url)) if url else NoSignals()


def _read_signals(provider: SignalProvider, model: SmallModel, auto: AutoscalingSpec) -> Signals:
    query = SignalQuery(
        namespace=model.metadata.namespace or "default",
        model=model.metadata.name,
        served_name=model.served_model_name,
        window_seconds=auto.metric_window_seconds,
        idle_seconds=auto.scale_to_zero.idle_seconds,
    )
    try:
        return provider.read(query)
    except Exception as err:  # Prometheus down or slow: the decision holds on no data
        log.warning("autoscaling signals for %s unavailable: %s", model.metadata.name, err)
        return Signals()


# The autoscaler's memory between passes, by model UID: status.autoscaling is written when the
# decision changes (replicas, reason, mode) and at least every STATUS_EVERY_SECONDS, so a
# restarted operator resumes with a recommendation history at most that old.
STATUS_EVERY_SECONDS = 60.0
_memory: dict[str, tuple[Memory, float]] = {}


def _write_status(kube: Kube, model: SmallModel, autoscaling: Mapping[str, Any]) -> None:
    patch = {"status": {"autoscaling": dict(autoscaling)}}
    namespace = model.metadata.namespace
    kube.merge_patch("SmallModel", model.metadata.name, patch, namespace, "status")
    _memory.pop(model.metadata.uid or "", None)


def _remember(
    kube: Kube,
    model: SmallModel,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    memory: Memory,
) -> None:
    """Keep the new memory; write it to status when the decision changed or it is due."""
    uid = model.metadata.uid or ""
    kept = _memory.get(uid)
    last_written = kept[1] if kept else 0.0
    decided = ("mode", "desiredReplicas", "reason")
    changed = any(before.get(k) != after.get(k) for k in decided)
    if changed or time.monotonic() - last_written >= STATUS_EVERY_SECONDS:
        _write_status(kube, model, after)
        _memory[uid] = (memory, time.monotonic())
    else:
        _memory[uid] = (memory, last_written)


def _clean_up(kube: Kube, model: SmallModel, keep: str | None) -> None:
    """Delete the HPA or ScaledObject of a mode no longer in use (the only deletes it makes);
    one of that name that is not ours (a user's) is left alone."""
    name, namespace = model.metadata.name, model.metadata.namespace
    owners = [model.metadata.uid or ""]
    for mode, kind in (("hpa", "HorizontalPodAutoscaler"), ("keda", "ScaledObject")):
        if keep != mode:
            try:
                delete_owned(kube, kind, name, namespace, owners)
            except NameConflictError:
                log.debug("%s %s/%s is not ours; left alone", kind, namespace, name)


def _delegate(
    applier: Applier, model: SmallModel, auto: AutoscalingSpec, status: Mapping[str, Any]
) -> None:
    """Apply the HPA or ScaledObject (when changed); clean up and report a mode change once."""
    if auto.mode == "hpa":
        obj = horizontal_pod_autoscaler(model, auto)
        message = "scaled by HorizontalPodAutoscaler " + model.metadata.name
    else:
        url = settings().prometheus_url or "http://prometheus.monitoring:9090"
        obj = scaled_object(model, auto, url)
        message = "scaled by KEDA ScaledObject " + model.metadata.name
    before = status.get("autoscaling") or {}
    try:
        applier.apply_all([obj])
    except NameConflictError as err:
        wanted = {**mode_status(auto.mode, str(err)), "reason": NAME_CONFLICT}
        if {k: before.get(k) for k in wanted} != wanted:
            _write_status(applier.kube, model, wanted)
        return
    wanted = mode_status(auto.mode, message)
    if before.get("mode") != auto.mode:
        _clean_up(applier.kube, model, auto.mode)
    if {k: before.get(k) for k in wanted} != wanted:
        _write_status(applier.kube, model, wanted)


def _created(body: Mapping[str, Any]) -> datetime | None:
    """When the SmallModel was created: the idle window of a model never scaled starts there."""
    stamp = (body.get("metadata") or {}).get("creationTimestamp")
    return parse_time(str(stamp)) if stamp else None


def autoscale(
    applier: Applier, body: Mapping[str, Any], provider: SignalProvider, now: datetime
) -> int | None:
    """One autoscaling pass over one SmallModel; returns the replicas it set, if it changed them."""
    kube = applier.kube
    try:
        model = parse_smallmodel(body)
    except SpecError:
        return None  # the SmallModel's reconcile reports the invalid spec
    auto = model.spec.autoscaling
    status = body.get("status") or {}
    memory = memory_from_status(status)
    kept = _memory.get(model.metadata.uid or "")
    if kept is not None and memory.mode == "operator":
        memory = kept[0]  # newer than status, which is written only on change
    if auto is None or not auto.enabled:
        if memory.mode is not None:
            _clean_up(kube, model, None)
            _write_status(kube, model, {"mode": None, "reason": "Disabled"})
        return None
    if auto.mode != "operator":
        _delegate(applier, model, auto, status)
        return None
    if memory.mode in DELEGATED_MODES:
        _clean_up(kube, model, None)
    current = desired_replicas(model.spec)
    if model.spec.paused:
        return None
    decision = decide_replicas(
        auto,
        Bounds(model.spec.min_replicas, model.spec.max_replicas),
        current,
        _read_signals(provider, model, auto),
        memory.history,
        now,
        last_scale_time=memory.last_scale_time or _created(body),
        rollout_active=rollout_active(status),
    )
    if decision.reason == "ScaleFromZero":  # say how long the held requests should expect
        expected = expected_start(status.get("coldStarts") or [], status.get("templateHash"))
        if expected:
            decision = dataclasses.replace(decision, message=f"{decision.message}; {expected}")
    autoscaler_decision(decision.reason)
    name, namespace = model.metadata.name, model.metadata.namespace
    if decision.desired != current:
        scale = {"spec": {"replicas": decision.desired}}
        kube.merge_patch("SmallModel", name, scale, namespace, "scale")
        message = f"scaled {current} -> {decision.desired}: {decision.message}"
        runtime().events.post(body, "Normal", decision.reason, message, limited=False)
    after = status_patch(decision, memory, current, now, auto.mode)
    _remember(
        kube,
        model,
        status.get("autoscaling") or {},
        after,
        memory_from_status({"autoscaling": after}),
    )
    return decision.desired if decision.desired != current else None


FLEET_KEY = ("autoscale", "fleet")


def autoscaled(body: Mapping[str, Any]) -> bool:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    return bool(spec.get("autoscaling")) or bool(status.get("autoscaling"))


def handle_autoscale(key: Key) -> float | None:
    """One pass over every SmallModel: autoscaling for those with it (or a mode left to clean
    up), then the cost ledgers of all (handlers/cost.py), with one batch of Prometheus queries;
    due again every autoscale interval while any SmallModel exists."""
    rt = runtime()
    alive = [b for b in rt.cache.smallmodels() if not b["metadata"].get("deletionTimestamp")]
    bodies = [b for b in alive if autoscaled(b)]
    if not bodies:
        _memory.clear()
    if not alive:
        return None
    provider, now = signal_provider(), datetime.now(UTC)
    for body in bodies:
        try:
            autoscale(rt.applier, body, provider, now)
        except Exception as err:  # one model's failure never stops the others' autoscaling
            meta = body["metadata"]
            log.warning("autoscaling %s/%s failed: %s", meta.get("namespace"), meta["name"], err)
    account_fleet(
        rt, alive, provider.prometheus.vector if isinstance(provider, PassSignals) else None
    )
    return settings().autoscale_interval_seconds
