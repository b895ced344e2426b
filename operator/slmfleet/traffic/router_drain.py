"""Whether new requests can still reach a leaving revision (pure), from what the routers report.

A router replica has stopped sending to a revision once the config it serves (known by its
generation from the configs this operator wrote, ``RecentConfigs``) gives the revision no weight
and lists none of its endpoints. An HTTPRoute has stopped once it gives the revision's Service
weight 0 (or no backendRef) and every gateway that reports on it has seen that generation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

from slmfleet.reconcile.drain import DrainObservation
from slmfleet.reconcile.endpoints import endpoint_host
from slmfleet.router.config import RouterConfig
from slmfleet.traffic.router_generation import RouterHealth

KEPT_PER_NAMESPACE = 32


class RecentConfigs:
    """The last router configs written per namespace, by generation (thread-safe, in memory).

    After a restart it holds only what this process wrote; a router still on an older config
    is then not counted as routed away until it loads a newer one."""

    def __init__(self, kept: int = KEPT_PER_NAMESPACE) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._by_ns: dict[str, OrderedDict[str, RouterConfig]] = {}

    def remember(self, namespace: str, config: RouterConfig) -> str:
        generation = config.served_generation
        with self._lock:
            configs = self._by_ns.setdefault(namespace, OrderedDict())
            configs[generation] = config
            configs.move_to_end(generation)
            while len(configs) > self._kept:
                configs.popitem(last=False)
        return generation

    def forget(self, namespace: str) -> None:
        """Drop a namespace that has no router any more."""
        with self._lock:
            self._by_ns.pop(namespace, None)

    def get(self, namespace: str, generation: str) -> RouterConfig | None:
        with self._lock:
            return self._by_ns.get(namespace, OrderedDict()).get(generation)


RECENT = RecentConfigs()


def sends_to(config: RouterConfig, revision: str, hosts: Collection[str]) -> bool:
    """Whether ``config`` can pick ``revision`` (pod IPs ``hosts``) for a new request."""
    for route in config.routes:
        for backend in route.backends:
            if any(s.revision == revision and s.weight > 0 for s in backend.revisions):
                return True
            if any(endpoint_host(e) in hosts for e in backend.endpoints):
                return True
    return False


def _router_waits(
    namespace: str,
    revision: str,
    hosts: Collection[str],
    healths: Mapping[str, RouterHealth | None],
    configs: RecentConfigs,
) -> tuple[list[str], int | None]:
    waiting: list[str] = []
    in_flight: int | None = 0
    for address, health in sorted(healths.items()):
        if health is None:
            waiting.append(f"router {address} to answer")
            in_flight = None
            continue
        config = configs.get(namespace, health.generation) if health.generation else None
        if config is None:
            waiting.append(f"router {address} to load a config this operator wrote")
        elif sends_to(config, revision, hosts):
            waiting.append(f"router {address} to stop sending to it")
        if in_flight is not None:
            in_flight += sum(n for e, n in health.in_flight.items() if endpoint_host(e) in hosts)
    return waiting, in_flight


def httproute_waits(route: Mapping[str, Any] | None, service: str) -> list[str]:
    """What keeps an HTTPRoute from sending nothing to ``service`` (empty: nothing)."""
    if route is None:
        return []
    meta = route.get("metadata") or {}
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("name") == service and int(ref.get("weight", 1)) > 0:
                return [f"HTTPRoute {meta.get('name')} to give {service} weight 0"]
    generation = int(meta.get("generation") or 0)
    for parent in (route.get("status") or {}).get("parents") or []:
        for condition in parent.get("conditions") or []:
            seen = int(condition.get("observedGeneration") or 0)
            if condition.get("type") == "Accepted" and seen < generation:
                name = (parent.get("parentRef") or {}).get("name", "?")
                return [f"gateway {name} to accept HTTPRoute generation {generation}"]
    return []


def observe_routing(
    namespace: str,
    revision: str,
    hosts: Collection[str],
    healths: Mapping[str, RouterHealth | None],
    also_waiting: list[str] | None = None,
    configs: RecentConfigs = RECENT,
) -> DrainObservation:
    """The drain observation of ``revision`` from every ready router's /health (no ready router:
    nothing routes to it) and what else keeps traffic on it (an HTTPRoute)."""
    waiting, in_flight = _router_waits(namespace, revision, hosts, healths, configs)
    waiting += also_waiting or []
    return DrainObservation(not waiting, in_flight, "; ".join(waiting))
