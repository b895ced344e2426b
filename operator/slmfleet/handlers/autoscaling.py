"""SmallModel autoscaling timer: signals -> decide (pure) -> scale subresource -> status, Event.

Mode ``operator`` runs the decision here and writes ``spec.replicas`` through the scale
subresource; the SmallModel's own reconcile then scales its Deployment. Modes ``hpa`` and ``keda``
apply a HorizontalPodAutoscaler or a ScaledObject instead (server-side apply) and leave the
scaling to them. Switching modes or turning autoscaling off deletes what the old mode made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.api.autoscaling import AutoscalingSpec
from slmfleet.api.errors import SpecError
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel import SmallModel
from slmfleet.autoscale.decision import Bounds, Signals, decide_replicas
from slmfleet.autoscale.signals import NoSignals, PrometheusSignals, SignalProvider, SignalQuery
from slmfleet.autoscale.state import (
    memory_from_status,
    mode_status,
    rollout_active,
    status_patch,
)
from slmfleet.builders.autoscaler import horizontal_pod_autoscaler, scaled_object
from slmfleet.builders.deployment import desired_replicas
from slmfleet.config import settings
from slmfleet.handlers.clients import kube_client
from slmfleet.k8s import Kube
from slmfleet.ownership import NAME_CONFLICT, NameConflictError, apply_owned, delete_owned

log = logging.getLogger(__name__)

DELEGATED_MODES = ("hpa", "keda")


def signal_provider() -> SignalProvider:
    url = settings().prometheus_url
    return PrometheusSignals(url) if url else NoSignals()


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


def _write_status(kube: Kube, model: SmallModel, autoscaling: Mapping[str, Any]) -> None:
    patch = {"status": {"autoscaling": dict(autoscaling)}}
    namespace = model.metadata.namespace
    kube.merge_patch("SmallModel", model.metadata.name, patch, namespace, "status")


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


def _delegate(kube: Kube, model: SmallModel, auto: AutoscalingSpec) -> None:
    if auto.mode == "hpa":
        obj = horizontal_pod_autoscaler(model, auto)
        message = "scaled by HorizontalPodAutoscaler " + model.metadata.name
    else:
        url = settings().prometheus_url or "http://prometheus.monitoring:9090"
        obj = scaled_object(model, auto, url)
        message = "scaled by KEDA ScaledObject " + model.metadata.name
    try:
        apply_owned(kube, [obj])
    except NameConflictError as err:
        _write_status(kube, model, {**mode_status(auto.mode, str(err)), "reason": NAME_CONFLICT})
        return
    _clean_up(kube, model, auto.mode)
    _write_status(kube, model, mode_status(auto.mode, message))


def _created(body: Mapping[str, Any]) -> datetime | None:
    """When the SmallModel was created: the idle window of a model never scaled starts there."""
    stamp = (body.get("metadata") or {}).get("creationTimestamp")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None


def autoscale(
    kube: Kube, body: Mapping[str, Any], provider: SignalProvider, now: datetime
) -> int | None:
    """One autoscaling pass over one SmallModel; returns the replicas it set, if it changed them."""
    try:
        model = parse_smallmodel(body)
    except SpecError:
        return None  # the SmallModel's reconcile reports the invalid spec
    auto = model.spec.autoscaling
    status = body.get("status") or {}
    memory = memory_from_status(status)
    if auto is None or not auto.enabled:
        if memory.mode is not None:
            _clean_up(kube, model, None)
            _write_status(kube, model, {"mode": None, "reason": "Disabled"})
        return None
    if auto.mode != "operator":
        _delegate(kube, model, auto)
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
    name, namespace = model.metadata.name, model.metadata.namespace
    if decision.desired != current:
        scale = {"spec": {"replicas": decision.desired}}
        kube.merge_patch("SmallModel", name, scale, namespace, "scale")
        kopf.event(
            cast(kopf.Body, body),
            type="Normal",
            reason=decision.reason,
            message=f"scaled {current} -> {decision.desired}: {decision.message}"[:1024],
        )
    _write_status(kube, model, status_patch(decision, memory, current, now, auto.mode))
    return decision.desired if decision.desired != current else None


def _has_autoscaling(spec: Mapping[str, Any], status: Mapping[str, Any], **_: Any) -> bool:
    return bool(spec.get("autoscaling")) or bool((status or {}).get("autoscaling"))


@kopf.timer(
    GROUP,
    VERSION,
    "smallmodels",
    interval=settings().autoscale_interval_seconds,
    initial_delay=1.0,
    when=_has_autoscaling,
)
def on_autoscale_timer(body: kopf.Body, **_: Any) -> None:
    autoscale(kube_client(), body, signal_provider(), datetime.now(UTC))
