"""The Service and PodDisruptionBudget in front of a SmallModel's engine pods (pure)."""

from __future__ import annotations

from typing import Any

from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import common_labels, owner_reference, selector_labels, service_name


def service(model: ModelRef) -> dict[str, Any]:
    """A ClusterIP Service on port 8000 (named so it never injects VLLM_PORT into pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(model.name),
            "namespace": model.namespace,
            "labels": common_labels(model.name),
            "ownerReferences": [owner_reference("SmallModel", model.name, model.uid)],
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(model.name),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pod_disruption_budget(model: ModelRef) -> dict[str, Any]:
    """At most one engine pod evicted at a time; never blocks a drain of a one-replica model."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": model.name,
            "namespace": model.namespace,
            "labels": common_labels(model.name),
            "ownerReferences": [owner_reference("SmallModel", model.name, model.uid)],
        },
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(model.name)},
        },
    }
