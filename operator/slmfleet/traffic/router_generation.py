"""Which router config generation each ready router replica serves, asked over its /health.

The operator stamps every router config with a generation (``RouterConfig.stamped``, also the
ConfigMap's ``slmfleet.io/router-config-generation`` annotation); each router replica reports the
generation it serves in ``GET /health``. A change (a revision at weight 0) has reached the data
path once every ready router pod reports the generation that carries it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slmfleet.builders.router import GENERATION_ANNOTATION, ROUTER_PORT, router_selector
from slmfleet.reconcile.endpoints import pod_ready

Fetch = Callable[[str], str | None]


def router_addresses(pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """``ip:port`` of every ready router pod among ``pods`` (other pods are ignored)."""
    wanted = router_selector().items()
    addresses = []
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        ip = (pod.get("status") or {}).get("podIP")
        if ip and pod_ready(pod) and wanted <= labels.items():
            addresses.append(f"{ip}:{ROUTER_PORT}")
    return sorted(addresses)


def written_generation(config_map: Mapping[str, Any]) -> str | None:
    """The generation the operator wrote into the router's ConfigMap, if any."""
    annotations = (config_map.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(GENERATION_ANNOTATION)
    return str(value) if value else None


@dataclass(frozen=True)
class RouterHealth:
    """What one router replica reports in /health: its config generation and, per endpoint,
    the requests it has in flight there."""

    generation: str | None
    in_flight: Mapping[str, int] = field(default_factory=dict)


def fetch_health(address: str, timeout: float = 2.0) -> RouterHealth | None:
    """The /health of the router at ``address``; None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{address}/health", timeout=timeout) as response:
            document = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(document, dict):
        return None
    generation = document.get("generation")
    raw = document.get("inFlight")
    in_flight = (
        {str(k): int(v) for k, v in raw.items() if isinstance(v, int)}
        if isinstance(raw, dict)
        else {}
    )
    return RouterHealth(str(generation) if generation else None, in_flight)


def fetch_generation(address: str, timeout: float = 2.0) -> str | None:
    """The generation the router at ``address`` serves; None when it does not answer."""
    health = fetch_health(address, timeout)
    return health.generation if health is not None else None


def served_generations(
    addresses: Iterable[str], fetch: Fetch = fetch_generation
) -> dict[str, str | None]:
    """Each router address and the generation it reports (None: no answer)."""
    return {address: fetch(address) for address in addresses}


def all_serve(generations: Mapping[str, str | None], wanted: str) -> bool:
    """True when every router serves ``wanted`` (one that did not answer does not).

    No ready router at all is True: a router that becomes ready later loads the newest config.
    """
    return all(g == wanted for g in generations.values())
