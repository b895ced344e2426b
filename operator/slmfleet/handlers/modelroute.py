"""ModelRoute handlers: keep each namespace's router and its routes in line with the cluster.

Any change of a ModelRoute, a SmallModel, an engine pod or a model Service's EndpointSlice
enqueues the namespace's routing key (debounced, so a burst of events is one plan): read the
cache (ModelRoutes, SmallModels, EndpointSlices, engine pods) -> `plan_namespace` (pure) -> apply
the router's ConfigMap, Deployment and Service and the HTTPRoutes when they changed -> write each
ModelRoute's status when it changed. The scheduler never runs one key twice at once, so the last
plan wins with the newest state. Watching with `on.event` needs no finalizer on anyone's objects;
the router objects are owned by every SmallModel and ModelRoute of the namespace and
garbage-collected with the last of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from slmfleet import GROUP, VERSION
from slmfleet.api.errors import SpecError
from slmfleet.api.modelroute import ModelRoute, ModelRouteStatus, parse_modelroute
from slmfleet.api.parse import plain
from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.builders import router
from slmfleet.builders.labels import MODEL_LABEL, service_name
from slmfleet.cache.seen import SEEN
from slmfleet.conditions import Verdict, conditions_for
from slmfleet.config import settings
from slmfleet.handlers.events import post_transitions
from slmfleet.handlers.runtime import Runtime, runtime
from slmfleet.ownership import NAME_CONFLICT, NameConflictError
from slmfleet.reconcile.backend_policy import secret_names
from slmfleet.reconcile.cold_start import expected_seconds
from slmfleet.reconcile.endpoints import (
    SERVICE_NAME_LABEL,
    endpoint_revisions,
    merge_endpoints,
    ready_endpoints,
    ready_pod_endpoints,
)
from slmfleet.reconcile.modelroute import RouteOutcome, needs_router, plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.rollout.plan import router_weights_of, shadow_of
from slmfleet.traffic.gateway import httproute
from slmfleet.traffic.router_drain import RECENT
from slmfleet.workqueue import Key

log = logging.getLogger(__name__)

SECRET_TTL_SECONDS = 30.0
_secret_memo: dict[tuple[str, str], tuple[float, dict[str, str] | None]] = {}


def _alive(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if not (i.get("metadata") or {}).get("deletionTimestamp")]


def _name_uid(body: Mapping[str, Any]) -> tuple[str, str]:
    return str(body["metadata"]["name"]), str(body["metadata"]["uid"])


def _router_weights(
    body: Mapping[str, Any], revision: str
) -> tuple[tuple[tuple[str, int], ...], tuple[str, float] | None]:
    """The split the router applies to this model, and the revision a shadow step mirrors to
    (with its percent); none when its rollout cannot be read."""
    try:
        rollout = RolloutSpec.model_validate(plain((body.get("spec") or {}).get("rollout") or {}))
        status = RolloutStatus.model_validate((body.get("status") or {}).get("rollout") or {})
    except ValidationError:
        return (), None
    weights = router_weights_of(rollout, status, revision) if revision else None
    shadow = shadow_of(rollout, status)
    mirror = (status.canary_revision or "", shadow.percent) if shadow and weights else None
    return tuple((weights or {}).items()), mirror


_targets: dict[str, dict[str, tuple[str, ModelTarget]]] = {}
"""Per namespace: each model's routing view by uid, with the resourceVersion it was read from."""


def model_targets(namespace: str, bodies: list[dict[str, Any]]) -> list[ModelTarget]:
    """The routing view of every model, each read again only when its object changed (a pass
    over a thousand models parses only those that changed since the last one)."""
    before = _targets.get(namespace, {})
    now: dict[str, tuple[str, ModelTarget]] = {}
    for body in bodies:
        meta = body.get("metadata") or {}
        uid, version = str(meta.get("uid")), str(meta.get("resourceVersion") or "")
        found = before.get(uid)
        now[uid] = (
            found if found and found[0] == version and version else (version, model_target(body))
        )
    _targets[namespace] = now
    return [target for _, target in now.values()]


def model_target(body: Mapping[str, Any]) -> ModelTarget:
    """Routing's view of a SmallModel body (read leniently: a broken spec still has a name)."""
    meta = body.get("metadata") or {}
    name = str(meta.get("name"))
    served = (body.get("spec") or {}).get("servedModelName") or name
    status = body.get("status") or {}
    revision = str(status.get("templateHash") or "")
    weights, mirror = _router_weights(body, revision)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready, stalled = conditions.get("Ready") or {}, conditions.get("Stalled") or {}
    return ModelTarget(
        name,
        str(served),
        service_name(name),
        revision,
        weights,
        mirror=mirror,
        scaled_to_zero=ready.get("reason") == "ScaledToZero",
        stalled=str(stalled.get("message") or "") if stalled.get("status") == "True" else None,
        draining=tuple(str(d.get("revision")) for d in status.get("draining") or []),
        cold_start_seconds=expected_seconds(status.get("coldStarts") or [], revision),
    )


def write_status(rt: Runtime, body: Mapping[str, Any], outcome: RouteOutcome) -> None:
    """Merge-patch the status when it changed; one Event per condition transition."""
    meta = body["metadata"]
    before = body.get("status") or {}
    generation = int(meta.get("generation") or 0)
    previous = before.get("conditions") or []
    conditions, transitions = conditions_for(
        outcome.verdict, previous, generation, datetime.now(UTC)
    )
    status = {**outcome.status, "conditions": conditions, "observedGeneration": generation}
    ModelRouteStatus.model_validate(status)  # fail here, not at the API server
    if {k: before.get(k) for k in status} != status:
        patch = {"status": status}
        rt.kube.merge_patch("ModelRoute", meta["name"], patch, meta.get("namespace"), "status")
    post_transitions(body, transitions, rt.events)


def _apply_httproute(rt: Runtime, route: ModelRoute, services: dict[str, str]) -> Verdict | None:
    """Apply the HTTPRoute; why it could not be, if it could not."""
    try:
        rt.applier.apply_all([httproute(route, services)])
    except NameConflictError as err:
        return Verdict(False, NAME_CONFLICT, str(err), stalled=True)
    except ApiException as err:
        if err.status == 404:
            problem = "the Gateway API (HTTPRoute CRD) is not installed in this cluster"
            return Verdict(False, "GatewayAPIMissing", problem, stalled=True)
        raise
    return None


def _secret_labels(rt: Runtime, name: str, namespace: str) -> dict[str, str] | None:
    """The labels of a Secret a url backend names (None: it does not exist), read at most once
    per SECRET_TTL_SECONDS; the value is not read here: the router gets it by secretKeyRef."""
    now = time.monotonic()
    found = _secret_memo.get((namespace, name))
    if found is not None and found[0] > now:
        return found[1]
    secret = rt.kube.get("Secret", name, namespace)
    labels = None if secret is None else dict((secret.get("metadata") or {}).get("labels") or {})
    _secret_memo[(namespace, name)] = (now + SECRET_TTL_SECONDS, labels)
    return labels


def reconcile_namespace(rt: Runtime, namespace: str) -> None:
    """Re-plan the routing of one namespace from the cache and apply what changed."""
    cache = rt.cache
    route_bodies = _alive(cache.modelroutes(namespace))
    model_bodies = _alive(cache.smallmodels(namespace))
    if not route_bodies and not model_bodies:
        rt.applier.forget(namespace, {router.ROUTER_NAME})
        _targets.pop(namespace, None)
        RECENT.forget(namespace)
        return  # the garbage collector removes the router with its last owner
    slices = cache.endpoint_slices(namespace)
    pods = cache.namespace_pods(namespace)
    parsed: list[ModelRoute] = []
    invalid: dict[str, RouteOutcome] = {}
    for body in route_bodies:
        try:
            parsed.append(parse_modelroute(body))
        except SpecError as err:
            verdict = Verdict(False, "InvalidSpec", "; ".join(err.errors), stalled=True)
            invalid[body["metadata"]["name"]] = RouteOutcome(verdict, {})
    models = model_targets(namespace, model_bodies)
    if not needs_router(len(route_bodies), models):
        return
    endpoints = merge_endpoints(ready_endpoints(slices), ready_pod_endpoints(pods))
    labels = {n: _secret_labels(rt, n, namespace) for n in secret_names(parsed)}
    allowed, caps = settings().router_allowed_hosts, settings().router_defaults
    revisions = endpoint_revisions(pods)
    plan = plan_namespace(parsed, models, endpoints, revisions, labels, allowed, caps)
    owners = [("ModelRoute", *_name_uid(b)) for b in route_bodies]
    owners += [("SmallModel", *_name_uid(b)) for b in model_bodies]
    router_objects = [
        router.config_map(namespace, plan.config, owners),
        router.service(namespace, owners),
        router.deployment(namespace, settings().router_image, owners, plan.secrets),
    ]
    if settings().network_policy:
        router_objects.append(router.network_policy(namespace, owners))
    outcomes = {**plan.outcomes, **invalid}
    try:
        rt.applier.apply_all(router_objects)
        RECENT.remember(namespace, plan.config.stamped())  # what a draining model checks against
    except NameConflictError as err:  # a user's slmfleet-router: no route of the namespace runs
        verdict = Verdict(False, NAME_CONFLICT, str(err), stalled=True)
        outcomes = {name: RouteOutcome(verdict, {}) for name in outcomes}
    services = {m.name: m.service for m in models}
    for route in parsed:
        outcome = outcomes[route.metadata.name]
        if route.spec.provider == "gateway-api" and not outcome.verdict.stalled:
            problem = _apply_httproute(rt, route, services)
            if problem is not None:
                outcomes[route.metadata.name] = RouteOutcome(problem, outcome.status)
    for body in route_bodies:
        write_status(rt, body, outcomes[body["metadata"]["name"]])


def handle_routes(key: Key) -> float | None:
    _, namespace = key
    rt = runtime()
    started = time.thread_time()
    try:
        reconcile_namespace(rt, namespace)
    except ApiException as err:
        if err.status == 403 and "NamespaceTerminating" in str(err.body):
            log.debug("namespace %s is being deleted; its routing goes with it", namespace)
            return None
        raise
    finally:
        rt.route_costs[namespace] = time.thread_time() - started
    return None


@kopf.on.event(GROUP, VERSION, "modelroutes")
async def on_route_event(
    namespace: str | None, body: kopf.Body, type: str | None, **_: Any
) -> None:
    """Any ModelRoute change, its deletion included, re-plans its namespace."""
    if not SEEN.changed("ModelRoute", body, type):
        return
    runtime().enqueue_routes(namespace or "")


@kopf.on.event(
    "discovery.k8s.io",
    "v1",
    "endpointslices",
    labels={SERVICE_NAME_LABEL: kopf.PRESENT, MODEL_LABEL: kopf.PRESENT},
)
async def on_endpoints_event(
    namespace: str | None, body: kopf.Body, type: str | None, **_: Any
) -> None:
    """Engine endpoints becoming ready or going away change the router's endpoint lists."""
    if not SEEN.changed("EndpointSlice", body, type):
        return
    runtime().enqueue_routes(namespace or "")
