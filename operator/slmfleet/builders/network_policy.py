"""NetworkPolicies for the pods the operator runs (pure).

Engine pods take connections on their port only from the namespace's router, from Prometheus
(a peer the chart names) and from the operator (its analysis probe and eval runner call pod IPs);
nothing else in the cluster can reach a model directly and spend its GPU. Router pods take
connections on their port only (clients may live anywhere). Egress is not restricted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import common_labels, owner_reference, selector_labels

OPERATOR_POD_LABELS = {
    "app.kubernetes.io/name": "slmfleet",
    "app.kubernetes.io/component": "operator",
}
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Peers:
    """Who besides the router may reach engine pods."""

    prometheus: Mapping[str, Any] | None = None
    """A NetworkPolicyPeer (podSelector and/or namespaceSelector) for the Prometheus pods."""
    operator_namespace: str | None = None
    """The operator's namespace; None when it runs outside the cluster (no peer)."""
    extra: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def _operator_peer(namespace: str) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}},
        "podSelector": {"matchLabels": dict(OPERATOR_POD_LABELS)},
    }


def engine_network_policy(
    model: ModelRef, router_labels: Mapping[str, str], peers: Peers
) -> dict[str, Any]:
    """Ingress to the model's engine pods on their port: router, Prometheus, operator."""
    sources: list[dict[str, Any]] = [{"podSelector": {"matchLabels": dict(router_labels)}}]
    if peers.prometheus:
        sources.append(dict(peers.prometheus))
    if peers.operator_namespace:
        sources.append(_operator_peer(peers.operator_namespace))
    sources += [dict(p) for p in peers.extra]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"{model.name}-engine",
            "namespace": model.namespace,
            "labels": common_labels(model.name),
            "ownerReferences": [owner_reference("SmallModel", model.name, model.uid)],
        },
        "spec": {
            "podSelector": {"matchLabels": selector_labels(model.name)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": PORT}]}],
        },
    }


def router_network_policy(
    metadata: Mapping[str, Any], selector: Mapping[str, str], port: int
) -> dict[str, Any]:
    """Ingress to the router pods on their port only, from anywhere."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": dict(metadata),
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": port}]}],
        },
    }
