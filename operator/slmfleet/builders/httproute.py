"""The one HTTPRoute builder (gateway.networking.k8s.io/v1), shared by both Gateway API users.

A ModelRoute with provider gateway-api (traffic/gateway.py) and a SmallModel's canary with the
gateway-api traffic provider (traffic/gateway_api.py) both render through here, so the two
never disagree on shape, ownership or how parents and weighted backends are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmfleet.builders.engine import PORT

API_VERSION = "gateway.networking.k8s.io/v1"


def parent_ref(
    name: str, namespace: str | None = None, section: str | None = None
) -> dict[str, Any]:
    """A parentRef to a Gateway (in the route's namespace when ``namespace`` is unset)."""
    ref: dict[str, Any] = {"name": name}
    if namespace:
        ref["namespace"] = namespace
    if section:
        ref["sectionName"] = section
    return ref


def backend_ref(service: str, weight: int) -> dict[str, Any]:
    """A weighted backendRef to a Service on the engines' HTTP port."""
    return {"name": service, "port": PORT, "weight": weight}


def httproute(
    name: str,
    namespace: str | None,
    labels: Mapping[str, str],
    owner: Mapping[str, Any],
    parents: Sequence[Mapping[str, Any]],
    backends: Sequence[Mapping[str, Any]],
    *,
    matches: Sequence[Mapping[str, Any]] = (),
    timeout_seconds: float | None = None,
) -> dict[str, Any]:
    """An HTTPRoute with one rule: optional matches, weighted backends, optional timeout."""
    rule: dict[str, Any] = {}
    if matches:
        rule["matches"] = [dict(m) for m in matches]
    rule["backendRefs"] = [dict(b) for b in backends]
    if timeout_seconds is not None:
        rule["timeouts"] = {"request": f"{round(timeout_seconds * 1000)}ms"}
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "ownerReferences": [dict(owner)],
        },
        "spec": {"parentRefs": [dict(p) for p in parents], "rules": [rule]},
    }
