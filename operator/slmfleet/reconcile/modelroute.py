"""The router config of one namespace and the status of its ModelRoutes, decided purely.

Inputs are the namespace's parsed ModelRoutes, its SmallModels (served name, Service, revision,
last cold start) and the ready endpoints of their Services (see endpoints.py; each backend is resolved in
route_backends.py). The output is the RouterConfig the router serves, one outcome (kstatus
verdict and status fields) per ModelRoute, and the Secret keys the router needs as environment
variables. A SmallModel that no ModelRoute claims is still served under its own name (an
implicit route).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slmfleet.api.modelroute import ModelRoute, ModelRouteSpec
from slmfleet.conditions import Verdict
from slmfleet.reconcile.backend_policy import (
    SecretEnv,
    SecretLabels,
    backend_refusal,
    client_keys_env_name,
)
from slmfleet.reconcile.route_backends import ModelTarget, model_backend, resolve_backend
from slmfleet.redact import redact
from slmfleet.router.config import (
    Backend,
    CascadePolicy,
    Route,
    RouteMatch,
    RouterConfig,
    RouterDefaults,
    ShadowPolicy,
)
from slmfleet.traffic.gateway import router_only_features


@dataclass(frozen=True)
class RouteOutcome:
    """The verdict and status fields of one ModelRoute."""

    verdict: Verdict
    status: dict[str, Any]


@dataclass(frozen=True)
class NamespaceRouting:
    """Everything the operator applies for one namespace's routing."""

    config: RouterConfig
    outcomes: dict[str, RouteOutcome]
    secrets: tuple[SecretEnv, ...]


def _primaries(spec: ModelRouteSpec) -> set[str]:
    """Backends that take first attempts: tier 0 of a cascade, else those with weight."""
    if spec.cascade is not None:
        return {spec.cascade.tiers[0]}
    return {b.name for b in spec.backends if b.weight > 0}


def _cascade(spec: ModelRouteSpec) -> CascadePolicy | None:
    c = spec.cascade
    if c is None:
        return None
    return CascadePolicy(
        tiers=tuple(c.tiers),
        min_mean_logprob=c.min_mean_logprob,
        json_schema=c.json_schema,
        regex=c.regex,
        escalate_on_length=c.escalate_on_length,
        max_escalation_fraction=c.max_escalation_fraction,
        window_seconds=float(c.window_seconds),
    )


def _verdict(
    spec: ModelRouteSpec, usable: set[str], unavailable: Sequence[Mapping[str, Any]]
) -> Verdict:
    """Resolved when a first-attempt backend is ready or asleep (Current), Stalled when every one
    is a Stalled SmallModel (Failed), else waiting for replicas that are on their way."""
    primaries = _primaries(spec)
    if primaries & usable:
        message = f"{len(usable)}/{len(spec.backends)} backends available"
        return Verdict(True, "Resolved", message)
    why = {e["name"]: (e["reason"], e["message"]) for e in unavailable if e["name"] in primaries}
    reasons = {reason for reason, _ in why.values()}
    if "ScaledToZero" in reasons:
        return Verdict(True, "ScaledToZero", "; ".join(m for _, m in why.values()))
    if reasons == {"SmallModelStalled"}:
        return Verdict(
            False, "BackendsStalled", "; ".join(m for _, m in why.values()), stalled=True
        )
    return Verdict(False, "WaitingForEndpoints", "no ready endpoints yet", reconciling=True)


def resolve_route(
    route: ModelRoute,
    models: Mapping[str, ModelTarget],
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str] | None = None,
    secret_labels: SecretLabels | None = None,
    allowed_hosts: Sequence[str] = (),
    defaults: RouterDefaults | None = None,
) -> tuple[Route | None, RouteOutcome, tuple[SecretEnv, ...]]:
    """One ModelRoute: its router Route (None for gateway-api or a route that must not start),
    outcome and key Secrets. ``secret_labels`` holds the labels of the Secrets its backends name."""
    name, spec = route.metadata.name, route.spec
    aliases = [n for n in (name, spec.match.model) if n]
    refusal = backend_refusal(spec, secret_labels or {}, allowed_hosts)
    if refusal is not None:
        empty = {"models": list(dict.fromkeys(aliases)), "backends": [], "unavailable": []}
        return None, RouteOutcome(refusal, empty), ()
    backends: list[Backend] = []
    resolved: list[dict[str, Any]] = []
    unavailable: list[dict[str, Any]] = []
    secrets: list[SecretEnv] = []
    for item in spec.backends:
        backend, entry = resolve_backend(name, item, models, endpoints, revision_of or {}, defaults)
        (unavailable if "reason" in entry else resolved).append(entry)
        if backend is not None:
            backends.append(backend)
        if item.api_key_secret_ref is not None and backend is not None and backend.api_key_env:
            ref = item.api_key_secret_ref
            secrets.append(SecretEnv(backend.api_key_env, ref.name, ref.key))
    status: dict[str, Any] = {
        "models": list(dict.fromkeys(aliases)),
        "backends": resolved,
        "unavailable": unavailable,
    }
    usable = {entry["name"] for entry in resolved}
    present = {b.name for b in backends}
    primaries = _primaries(spec)
    if spec.provider == "gateway-api":
        blocked = router_only_features(spec, blocking=True)
        if blocked:
            message = "needs provider router: " + "; ".join(blocked)
            return (
                None,
                RouteOutcome(Verdict(False, "NeedsRouter", message, stalled=True), status),
                (),
            )
    if not primaries & present:
        missing = ", ".join(sorted(primaries)) or "none (all weights are 0)"
        message = f"no backend that takes traffic exists: {missing}"
        return None, RouteOutcome(Verdict(False, "NoBackends", message, stalled=True), status), ()
    outcome = RouteOutcome(_verdict(spec, usable, unavailable), status)
    if spec.provider == "gateway-api":
        return None, outcome, ()
    # Fallback and tier names must name existing backends; drop unresolvable ones.
    policy = _cascade(spec)
    if policy is not None and not set(policy.tiers) <= present:
        tiers = tuple(t for t in policy.tiers if t in present)
        policy = policy.model_copy(update={"tiers": tiers}) if len(tiers) >= 2 else None
    keys = spec.client_key_secret_ref
    if keys is not None:
        secrets.append(SecretEnv(client_keys_env_name(name), keys.name, keys.key))
    routed = Route(
        name=name,
        client_keys_env=client_keys_env_name(name) if keys is not None else None,
        match=RouteMatch(model=spec.match.model, headers=dict(spec.match.headers)),
        backends=tuple(backends),
        timeout_seconds=spec.timeout_seconds,
        retries=spec.retries,
        fallback=tuple(f for f in spec.fallback if f in present),
        cascade=policy,
        shadow=_shadow(spec, present),
    )
    return routed, outcome, tuple(secrets)


def _shadow(spec: ModelRouteSpec, present: set[str]) -> ShadowPolicy | None:
    """The mirror, while its backend resolves (a missing one mirrors nothing)."""
    s = spec.shadow
    if s is None or s.backend not in present:
        return None
    return ShadowPolicy(backend=s.backend, percent=s.percent)


def _claimed(routes: Sequence[Route]) -> set[str]:
    """Model names answered by routes for every request (not only for some headers)."""
    names = {route.name for route in routes}
    names |= {n for route in routes if not route.match.headers for n in route.model_names}
    return names


def implicit_route(
    target: ModelTarget,
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str] | None = None,
    defaults: RouterDefaults | None = None,
) -> Route:
    """The route of a SmallModel no ModelRoute claims: its served name to its Service."""
    backend = model_backend(
        target, endpoints, revision_of or {}, defaults, target.name, target.served_name
    )
    return Route(name=target.served_name, backends=(backend,))


def plan_namespace(
    routes: Sequence[ModelRoute],
    models: Sequence[ModelTarget],
    endpoints: Mapping[str, tuple[str, ...]],
    revision_of: Mapping[str, str] | None = None,
    secret_labels: SecretLabels | None = None,
    allowed_hosts: Sequence[str] = (),
    defaults: RouterDefaults | None = None,
) -> NamespaceRouting:
    """The namespace's RouterConfig, each ModelRoute's outcome and the key Secrets.

    ``revision_of`` maps a pod IP to its revision, for the split of models in a canary;
    ``secret_labels`` the labels of the Secrets url backends name (see backend_policy.py). A route
    that cannot be resolved is left out with a Stalled outcome; the others are still served.
    """
    defaults = defaults or RouterDefaults()
    by_name = {m.name: m for m in models}
    served: list[Route] = []
    outcomes: dict[str, RouteOutcome] = {}
    secrets: list[SecretEnv] = []
    for route in sorted(routes, key=lambda r: r.metadata.name):
        try:
            routed, outcome, keys = resolve_route(
                route, by_name, endpoints, revision_of, secret_labels, allowed_hosts, defaults
            )
        except ValueError as err:  # pydantic's ValidationError included
            verdict = Verdict(False, "InvalidRoute", redact(str(err)), stalled=True)
            routed, outcome, keys = None, RouteOutcome(verdict, {}), ()
        outcomes[route.metadata.name] = outcome
        if routed is not None:
            served.append(routed)
            secrets.extend(keys)
    claimed = _claimed(served)
    for target in sorted(models, key=lambda m: m.served_name):
        if target.served_name not in claimed:
            served.append(implicit_route(target, endpoints, revision_of, defaults))
            claimed.add(target.served_name)
    config = RouterConfig(defaults=defaults, routes=tuple(served))
    return NamespaceRouting(config, outcomes, tuple(secrets))


def needs_router(route_count: int, models: Sequence[ModelTarget]) -> bool:
    """A namespace gets a router once it has a ModelRoute or a SmallModel with a revision to
    serve; SmallModels that were never valid (no revision yet) do not start one."""
    return route_count > 0 or any(m.revision for m in models)
