"""What the drain of a SmallModel's leaving revisions waits on, observed (I/O only).

Only while ``status.draining`` lists a revision: the namespace's router pods are listed (one
read; the cache holds engine pods only), each ready one's ``/health`` is asked which config
generation it serves and what it has in flight, and for the gateway-api provider the model's
HTTPRoute is read. Nothing of this runs for a model with nothing to drain.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import REVISION_LABEL, label_selector, service_name
from slmfleet.builders.router import router_selector
from slmfleet.cache.view import FleetCache
from slmfleet.k8s import Kube
from slmfleet.reconcile.drain import DrainObservation
from slmfleet.traffic.gateway_api import revision_service_name
from slmfleet.traffic.router_drain import httproute_waits, observe_routing
from slmfleet.traffic.router_generation import RouterHealth, fetch_health, router_addresses

HEALTH_TIMEOUT_SECONDS = 1.0


def revision_hosts(pods: list[dict[str, Any]], revision: str) -> set[str]:
    """Pod IPs of one revision's engine pods (those being deleted included)."""
    hosts = set()
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        ip = (pod.get("status") or {}).get("podIP")
        if ip and labels.get(REVISION_LABEL) == revision:
            hosts.add(str(ip))
    return hosts


def router_healths(kube: Kube, namespace: str) -> dict[str, RouterHealth | None]:
    """The /health of every ready router replica of ``namespace``, asked at once."""
    pods = kube.list("Pod", namespace, label_selector(router_selector()))
    addresses = router_addresses(pods)
    if not addresses:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(addresses))) as pool:
        found = pool.map(lambda a: fetch_health(a, HEALTH_TIMEOUT_SECONDS), addresses)
        return dict(zip(addresses, found, strict=True))


def observe_drains(
    cache: FleetCache, kube: Kube, model: SmallModel
) -> Mapping[str, DrainObservation]:
    """The observation of each revision in ``status.draining`` (none: nothing is read)."""
    entries = model.status.draining
    if not entries:
        return {}
    ns, name = model.metadata.namespace or "", model.metadata.name
    healths = router_healths(kube, ns)
    pods = cache.pods(ns, name)
    route = None
    if model.spec.rollout.traffic_provider == "gateway-api":
        route = kube.get("HTTPRoute", service_name(name), ns)
    out = {}
    for entry in entries:
        rev = entry.revision
        waits = httproute_waits(route, revision_service_name(name, rev))
        out[rev] = observe_routing(ns, rev, revision_hosts(pods, rev), healths, waits)
    return out
