"""SmallModel handlers: parse -> observe -> decide (pure) -> apply -> status and Events.

The same ``reconcile`` runs on create, update, resume, a periodic timer, a change of the engine
Deployment, and a change of the model's GPUClass. It is idempotent: server-side apply of the same
children is a no-op, and status is only the result of the pure decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.api.errors import SpecError
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel_status import SmallModelStatus
from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.labels import MANAGED_BY, MODEL_LABEL
from slmfleet.builders.network_policy import Peers, engine_network_policy
from slmfleet.builders.router import router_selector
from slmfleet.conditions import Verdict, conditions_for
from slmfleet.config import settings
from slmfleet.handlers.clients import kube_client
from slmfleet.handlers.events import post_transitions
from slmfleet.handlers.observe import observe
from slmfleet.k8s import Kube
from slmfleet.ownership import NAME_CONFLICT, NameConflictError, apply_owned
from slmfleet.reconcile.smallmodel import Decision, decide, stalled

log = logging.getLogger(__name__)


def _decision(kube: Kube, body: Mapping[str, Any]) -> Decision:
    try:
        model = parse_smallmodel(body)
    except SpecError as err:
        return stalled("InvalidSpec", "; ".join(err.errors))
    return decide(model, observe(kube, model), settings().default_engine_image)


def _network_policies(body: Mapping[str, Any], decision: Decision) -> list[dict[str, Any]]:
    """The engine pods' NetworkPolicy, when the chart enables them and the model has engines."""
    s = settings()
    if not (s.network_policy and decision.children):
        return []
    meta = body["metadata"]
    ref = ModelRef(meta["name"], meta.get("namespace") or "default", meta.get("uid") or "")
    peers = Peers(s.prometheus_peer, s.operator_namespace)
    return [engine_network_policy(ref, router_selector(), peers)]


def reconcile(kube: Kube, body: Mapping[str, Any], apply: bool = True) -> Decision:
    """Bring one SmallModel's children and status in line with its spec."""
    decision = _decision(kube, body)
    verdict = decision.verdict
    if apply:
        try:
            apply_owned(kube, [*decision.children, *_network_policies(body, decision)])
        except NameConflictError as err:  # a user's object of a child's name: touch nothing
            verdict = Verdict(False, NAME_CONFLICT, str(err), stalled=True)
    write_status(kube, body, verdict, decision.status)
    return decision


def write_status(
    kube: Kube, body: Mapping[str, Any], verdict: Verdict, fields: Mapping[str, Any]
) -> None:
    meta = body["metadata"]
    previous = (body.get("status") or {}).get("conditions") or []
    generation = int(meta.get("generation") or 0)
    conditions, transitions = conditions_for(verdict, previous, generation, datetime.now(UTC))
    status = {**fields, "conditions": conditions, "observedGeneration": generation}
    SmallModelStatus.model_validate(status)  # fail here, not at the API server, if the shape drifts
    patch = {"status": status}
    kube.merge_patch("SmallModel", meta["name"], patch, meta.get("namespace"), "status")
    post_transitions(body, transitions)


@kopf.on.resume(GROUP, VERSION, "smallmodels")
@kopf.on.create(GROUP, VERSION, "smallmodels")
@kopf.on.update(GROUP, VERSION, "smallmodels", field="spec")
def on_change(body: kopf.Body, **_: Any) -> None:
    reconcile(kube_client(), body)


@kopf.timer(GROUP, VERSION, "smallmodels", interval=settings().resync_seconds, initial_delay=5.0)
def on_timer(body: kopf.Body, **_: Any) -> None:
    """Level-based safety net: re-apply and refresh status even if an event was missed."""
    reconcile(kube_client(), body)


@kopf.on.event(
    "apps", "v1", "deployments", labels={MANAGED_BY: "slmfleet", MODEL_LABEL: kopf.PRESENT}
)
def on_engine_change(body: kopf.Body, type: str | None, **_: Any) -> None:
    """Refresh the owner's status when its engine Deployment changes (replicas becoming ready)."""
    if type is None:  # the initial listing; resume handlers cover it
        return
    meta = body.get("metadata") or {}
    kube = kube_client()
    owner = kube.get(
        "SmallModel", meta.get("labels", {}).get(MODEL_LABEL, ""), meta.get("namespace")
    )
    if owner is None or (owner.get("metadata") or {}).get("deletionTimestamp"):
        return
    reconcile(kube, owner, apply=False)
