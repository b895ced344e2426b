"""Ready endpoints of the SmallModels' Services (from EndpointSlices, else from ready pods) and
their split by revision during a canary (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmfleet.builders.labels import MODEL_LABEL, REVISION_LABEL, service_name
from slmfleet.router.config import RevisionSplit

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def ready_endpoints(slices: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Service name -> its ready `host:port` endpoints (port named http, else the first)."""
    found: dict[str, list[str]] = {}
    for item in slices:
        service = ((item.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        ports = item.get("ports") or []
        if not service or not ports:
            continue
        named = [p for p in ports if p.get("name") == "http"] or ports
        port = named[0].get("port")
        if port is None:
            continue
        out = found.setdefault(service, [])
        for endpoint in item.get("endpoints") or []:
            # The API says an unset ready condition means ready.
            if (endpoint.get("conditions") or {}).get("ready", True) is False:
                continue
            for address in endpoint.get("addresses") or []:
                value = _endpoint(str(address), int(port))
                if value not in out:
                    out.append(value)
    return {service: tuple(sorted(values)) for service, values in found.items()}


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Running, Ready and not being deleted."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") or status.get("phase") != "Running":
        return False
    conditions = status.get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _http_port(pod: Mapping[str, Any]) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "http" and port.get("containerPort"):
                return int(port["containerPort"])
    return None


def ready_pod_endpoints(pods: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Service name -> `podIP:http port` of the ready engine pods of each SmallModel."""
    found: dict[str, set[str]] = {}
    for pod in pods:
        model = ((pod.get("metadata") or {}).get("labels") or {}).get(MODEL_LABEL)
        ip = (pod.get("status") or {}).get("podIP")
        port = _http_port(pod)
        if model and ip and port and pod_ready(pod):
            found.setdefault(service_name(model), set()).add(_endpoint(str(ip), port))
    return {service: tuple(sorted(values)) for service, values in found.items()}


def merge_endpoints(
    from_slices: Mapping[str, tuple[str, ...]], from_pods: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """EndpointSlices win; a Service they list no endpoint for falls back to its ready pods.

    The EndpointSlice controller refuses some pod addresses (loopback ones, as in the local
    development cluster), and lags a moment behind pods becoming ready.
    """
    services = set(from_slices) | set(from_pods)
    return {s: from_slices.get(s) or from_pods.get(s, ()) for s in sorted(services)}


def endpoint_revisions(pods: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Pod IP -> the revision label of the engine pod holding it (pods being deleted left out)."""
    found: dict[str, str] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        revision = (meta.get("labels") or {}).get(REVISION_LABEL)
        ip = (pod.get("status") or {}).get("podIP")
        if revision and ip and not meta.get("deletionTimestamp"):
            found[str(ip)] = str(revision)
    return found


def endpoint_host(endpoint: str) -> str:
    """`host:port` or `[v6]:port` -> the host as a pod IP is written."""
    host = endpoint.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


def revision_split(
    revision: str,
    weights: Sequence[tuple[str, int]],
    ready: tuple[str, ...],
    revision_of: Mapping[str, str],
    mirror: tuple[str, float] | None = None,
) -> tuple[str, tuple[str, ...], tuple[RevisionSplit, ...]]:
    """A SmallModel backend's revision, endpoints and canary split, from its router weights.

    No weights: the model's ``revision`` and every ready endpoint. Endpoints of revisions with
    weight 0 (a rolled-back canary still draining, an old stable) are left out, so a weight change
    takes effect with the next config, not when pods go. When no weighted revision has a ready
    endpoint yet, every ready endpoint serves instead.
    """
    split = dict(weights)
    if not split:
        return revision, ready, ()
    weighted = tuple(e for e in ready if split.get(revision_of.get(endpoint_host(e), ""), 0))
    first = next(iter(split))  # the stable one, or the only one
    if len(split) < 2:
        return first, weighted or ready, ()
    splits = tuple(
        RevisionSplit(
            revision=rev,
            weight=weight,
            endpoints=tuple(e for e in ready if revision_of.get(endpoint_host(e)) == rev),
            mirror_percent=mirror[1] if mirror and mirror[0] == rev else 0,
        )
        for rev, weight in split.items()
    )
    return first, weighted or ready, splits
