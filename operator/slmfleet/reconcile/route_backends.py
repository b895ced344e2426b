"""The backends of a ModelRoute resolved against the namespace's SmallModels, purely.

A url backend becomes a router Backend as written; a SmallModel backend gets the model's ready
endpoints and canary split (see endpoints.py) and its hold (see route_hold.py), or a status entry
saying why it cannot take traffic (not found, no ready replicas, scaled to zero, Stalled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.api.route_backend import RouteBackend
from slmfleet.reconcile.backend_policy import key_env_name
from slmfleet.reconcile.endpoints import endpoint_host, revision_split
from slmfleet.reconcile.route_hold import backend_hold
from slmfleet.router.config import Backend, RevisionSplit, RouterDefaults


@dataclass(frozen=True)
class ModelTarget:
    """What routing needs to know about one SmallModel."""

    name: str
    served_name: str
    service: str
    revision: str = ""
    # The router's split while a canary runs (stable first); empty: every ready endpoint.
    weights: tuple[tuple[str, int], ...] = ()
    mirror: tuple[str, float] | None = None  # a shadow step: (canary revision, percent)
    scaled_to_zero: bool = False  # no replicas on purpose: the first request wakes it
    stalled: str | None = None  # the model's Stalled message: no replicas until someone acts
    draining: tuple[str, ...] = ()  # revisions leaving (status.draining): no new requests
    cold_start_seconds: float | None = None  # what the revision's last cold start took


def target_split(
    target: ModelTarget,
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str],
) -> tuple[str, tuple[str, ...], tuple[RevisionSplit, ...]]:
    """A SmallModel's revision, endpoints and canary split (see ``revision_split``); a draining
    revision's endpoints get no new request while anything else can take it."""
    live = endpoints.get(target.service, ())
    staying = tuple(e for e in live if revision_of.get(endpoint_host(e)) not in target.draining)
    return revision_split(
        target.revision, target.weights, staying or live, revision_of, target.mirror
    )


def model_backend(
    target: ModelTarget,
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str],
    defaults: RouterDefaults | None,
    name: str,
    model: str,
    weight: int = 100,
    timeout_seconds: float | None = None,
) -> Backend:
    """The router backend of a SmallModel: its ready endpoints and canary split
    (``target_split``), and the hold its cold start asks for (route_hold.py)."""
    revision, ready, splits = target_split(target, endpoints, revision_of)
    return Backend(
        name=name,
        model=model,
        weight=weight,
        timeout_seconds=timeout_seconds,
        revision=revision,
        endpoints=ready,
        revisions=splits,
        hold_seconds=backend_hold(target.cold_start_seconds, defaults or RouterDefaults()),
    )


def resolve_backend(
    route: str,
    spec: RouteBackend,
    models: Mapping[str, ModelTarget],
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str],
    defaults: RouterDefaults | None = None,
) -> tuple[Backend | None, dict[str, Any]]:
    """The router backend (None when unresolvable) and its status entry; a SmallModel backend
    holds requests while it has no endpoint for as long as its cold start takes (route_hold.py)."""
    if spec.url is not None:
        env = key_env_name(route, spec.name) if spec.api_key_secret_ref else None
        model = spec.model or ""
        backend = Backend(
            name=spec.name,
            model=model,
            weight=spec.weight,
            timeout_seconds=spec.timeout_seconds,
            url=spec.url,
            api_key_env=env,
        )
        return backend, {
            "name": spec.name,
            "model": model,
            "weight": spec.weight,
            "readyEndpoints": 1,
        }
    ref = spec.small_model_ref.name if spec.small_model_ref else ""
    target = models.get(ref)
    if target is None:
        return None, {
            "name": spec.name,
            "reason": "SmallModelNotFound",
            "message": f"SmallModel {ref!r} does not exist in this namespace",
        }
    model = spec.model or target.served_name
    backend = model_backend(
        target, endpoints, revision_of, defaults, spec.name, model,
        weight=spec.weight, timeout_seconds=spec.timeout_seconds,
    )  # fmt: skip
    if not backend.endpoints:
        reason, why = "NoReadyEndpoints", "has no ready replicas"
        if target.stalled is not None:
            reason, why = "SmallModelStalled", f"is Stalled: {target.stalled}"
        elif target.scaled_to_zero:
            reason, why = "ScaledToZero", "is scaled to zero; the first request wakes it"
        return backend, {
            "name": spec.name,
            "reason": reason,
            "message": f"SmallModel {ref!r} {why}",
        }
    return backend, {
        "name": spec.name,
        "model": model,
        "weight": spec.weight,
        "readyEndpoints": len(backend.endpoints),
    }
