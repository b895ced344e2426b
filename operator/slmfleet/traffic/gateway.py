"""The Gateway API provider: a ModelRoute rendered as an HTTPRoute (gateway.networking.k8s.io/v1).

A gateway routes on headers, not on the JSON body, so the model name is matched on the
`x-gateway-model-name` header that a body-based routing extension (or the client) sets. Weighted
backendRefs point at the SmallModels' Services. What only the slmfleet router can do:

- blocking (the route is Stalled, nothing is rendered): cascades (the answer must be read and
  judged), url backends (no Service to reference) and API keys from Secrets;
- not rendered (the route works, without them): retries and the fallback chain, which the
  standard HTTPRoute channel cannot express.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmfleet.api.modelroute import ModelRoute, ModelRouteSpec
from slmfleet.builders.httproute import backend_ref, parent_ref
from slmfleet.builders.httproute import httproute as build_httproute
from slmfleet.builders.labels import MANAGED_BY, owner_reference

MODEL_HEADER = "x-gateway-model-name"
ROUTE_LABEL = "slmfleet.io/modelroute"


def router_only_features(spec: ModelRouteSpec, blocking: bool = False) -> list[str]:
    """The features of `spec` an HTTPRoute cannot carry (only the blocking ones if asked)."""
    found: list[str] = []
    if spec.cascade is not None:
        found.append("cascade (answers must be judged before escalating)")
    urls = [b.name for b in spec.backends if b.url is not None]
    if urls:
        found.append(f"url backends {urls} (an HTTPRoute references Services only)")
    if spec.client_key_secret_ref is not None:
        found.append("clientKeySecretRef (the router checks the API keys)")
    if blocking:
        return found
    if spec.retries:
        found.append("retries")
    if spec.fallback:
        found.append("fallback")
    if spec.shadow is not None:
        found.append("shadow")
    return found


def _matches(route: ModelRoute) -> list[dict[str, Any]]:
    headers = [
        {
            "type": "Exact",
            "name": MODEL_HEADER,
            "value": route.spec.match.model or route.metadata.name,
        }
    ]
    headers += [
        {"type": "Exact", "name": name, "value": value}
        for name, value in sorted(route.spec.match.headers.items())
    ]
    return [{"path": {"type": "PathPrefix", "value": "/v1/"}, "headers": headers}]


def httproute(route: ModelRoute, services: Mapping[str, str]) -> dict[str, Any]:
    """The HTTPRoute of a gateway-api ModelRoute; `services` maps SmallModel -> Service name.

    Backends whose SmallModel has no Service are left out; url backends are refused earlier.
    """
    spec, meta = route.spec, route.metadata
    refs = []
    for backend in spec.backends:
        model = backend.small_model_ref.name if backend.small_model_ref else None
        if model is not None and model in services:
            refs.append(backend_ref(services[model], backend.weight))
    parents = [parent_ref(p.name, p.namespace, p.section_name) for p in spec.parent_refs]
    return build_httproute(
        meta.name,
        meta.namespace,
        {MANAGED_BY: "slmfleet", ROUTE_LABEL: meta.name},
        owner_reference("ModelRoute", meta.name, meta.uid or ""),
        parents,
        refs,
        matches=_matches(route),
        timeout_seconds=spec.timeout_seconds,
    )
