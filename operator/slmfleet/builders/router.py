"""The namespace's router: ConfigMap (the RouterConfig JSON), Deployment and Service (pure).

The router runs from the operator's image as `python -m slmfleet.router`. It is given both the
mounted ConfigMap file (`--config`) and the ConfigMap's name (`--configmap`): where the kubelet
mounts the file (every real cluster) the router polls the file and needs no API access; where the
file is absent it watches the ConfigMap through the API. Both deliver the same JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slmfleet import API_VERSION, GROUP
from slmfleet.builders.labels import COMPONENT_LABEL, MANAGED_BY
from slmfleet.builders.network_policy import router_network_policy
from slmfleet.builders.pod_security import container_security_context, router_pod_security_context
from slmfleet.reconcile.backend_policy import SecretEnv
from slmfleet.router.config import RouterConfig

ROUTER_NAME = "slmfleet-router"
ROUTER_PORT = 8080
CONFIG_DIR = "/etc/slmfleet-router"
CONFIG_KEY = "config.json"
REPLICAS = 2
GENERATION_ANNOTATION = f"{GROUP}/router-config-generation"
READINESS_PROBE = {"periodSeconds": 2, "failureThreshold": 2, "timeoutSeconds": 2}
# Held requests and buffered bodies are bounded; a router past this is restarted, not the node.
MEMORY_LIMIT = "512Mi"
LIVENESS_PROBE = {"periodSeconds": 10, "failureThreshold": 6, "timeoutSeconds": 5}


def router_selector() -> dict[str, str]:
    """What the router's Deployment and Service select on."""
    return {"app.kubernetes.io/name": ROUTER_NAME, COMPONENT_LABEL: "router"}


def router_labels() -> dict[str, str]:
    return {**router_selector(), MANAGED_BY: "slmfleet", "app.kubernetes.io/part-of": "slmfleet"}


Owner = tuple[str, str, str]  # (kind, name, uid) of a SmallModel or ModelRoute


def _meta(namespace: str, owners: Sequence[Owner]) -> dict[str, Any]:
    """Owned by every SmallModel and ModelRoute of the namespace (none of them the controller):
    the garbage collector removes the router once the last of them is deleted."""
    refs = [
        {"apiVersion": API_VERSION, "kind": kind, "name": name, "uid": uid}
        for kind, name, uid in sorted(owners)
    ]
    return {
        "name": ROUTER_NAME,
        "namespace": namespace,
        "labels": router_labels(),
        "ownerReferences": refs,
    }


def config_map(namespace: str, config: RouterConfig, owners: Sequence[Owner]) -> dict[str, Any]:
    """The ConfigMap holding the router's config as `config.json`, stamped with its generation.

    The generation is also an annotation, so a reader can compare it with what each router
    replica reports in /health without parsing the config.
    """
    stamped = config.stamped()
    meta = _meta(namespace, owners)
    meta["annotations"] = {GENERATION_ANNOTATION: str(stamped.generation)}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {CONFIG_KEY: stamped.to_json()},
    }


def router_args(namespace: str) -> list[str]:
    """The module and options after `python -m`."""
    return [
        "slmfleet.router",
        "--config",
        f"{CONFIG_DIR}/{CONFIG_KEY}",
        "--configmap",
        f"{namespace}/{ROUTER_NAME}",
        "--host",
        "0.0.0.0",
        "--port",
        str(ROUTER_PORT),
    ]


def _env(secrets: Sequence[SecretEnv]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = []
    for item in sorted(secrets, key=lambda s: s.env):
        ref = {"name": item.secret, "key": item.key}
        env.append({"name": item.env, "valueFrom": {"secretKeyRef": ref}})
    return env


def _probe(settings: dict[str, int]) -> dict[str, Any]:
    return {"httpGet": {"path": "/health", "port": "http"}, **settings}


def deployment(
    namespace: str, image: str, owners: Sequence[Owner], secrets: Sequence[SecretEnv] = ()
) -> dict[str, Any]:
    """Two router replicas with the config mounted, probes and Prometheus annotations."""
    container = {
        "name": "router",
        "image": image,
        "command": ["python", "-m"],
        "args": router_args(namespace),
        "env": _env(secrets),
        "ports": [{"name": "http", "containerPort": ROUTER_PORT, "protocol": "TCP"}],
        "readinessProbe": _probe(READINESS_PROBE),
        "livenessProbe": _probe(LIVENESS_PROBE),
        "resources": {
            "requests": {"cpu": "250m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
            "limits": {"memory": MEMORY_LIMIT, "ephemeral-storage": "256Mi"},
        },
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            **container_security_context(),
        },
    }
    template = {
        "metadata": {
            "labels": router_labels(),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(ROUTER_PORT),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "containers": [container],
            "volumes": [{"name": "config", "configMap": {"name": ROUTER_NAME}}],
            "enableServiceLinks": False,
            "automountServiceAccountToken": False,
            "securityContext": router_pod_security_context(),
            "terminationGracePeriodSeconds": 40,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(namespace, owners),
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": router_selector()},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": template,
        },
    }


def network_policy(namespace: str, owners: Sequence[Owner]) -> dict[str, Any]:
    """Router pods take connections on their port only."""
    return router_network_policy(_meta(namespace, owners), router_selector(), ROUTER_PORT)


def service(namespace: str, owners: Sequence[Owner]) -> dict[str, Any]:
    """The ClusterIP Service clients call: port 80 to the routers' http port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(namespace, owners),
        "spec": {
            "type": "ClusterIP",
            "selector": router_selector(),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
