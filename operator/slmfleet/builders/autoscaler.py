"""HorizontalPodAutoscaler and KEDA ScaledObject for a SmallModel (pure), for autoscaling modes
``hpa`` and ``keda``. Both target the SmallModel's scale subresource, so the SmallModel stays the
one owner of its Deployment's replica count.

- hpa: an autoscaling/v2 HPA on Pods metrics ``vllm_num_requests_waiting`` and
  ``vllm_kv_cache_usage_perc`` and the External metric ``slmfleet_router_in_flight_requests``.
  The cluster needs a custom/external metrics adapter (for example prometheus-adapter) that
  serves the vLLM gauges under those names (a ``seriesQuery`` on ``vllm:num_requests_waiting``
  renamed with ``as: vllm_num_requests_waiting``, associated with the ``namespace`` and ``pod``
  labels). The HPA cannot scale to zero; minReplicas is ``max(minReplicas, 1)``.
- keda: a ScaledObject with one ``prometheus`` trigger per target, querying the same series the
  operator's own loop reads; with scaleToZero it may go to zero (minReplicaCount 0, cooldown =
  idleSeconds) and the router's held requests wake it.
"""

from __future__ import annotations

from typing import Any

from slmfleet import API_VERSION
from slmfleet.api.autoscaling import AutoscalingSpec, ScalingRules
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import common_labels, owner_reference

POLICY_PERIOD_SECONDS = 15


def quantity(value: float) -> str:
    """A Kubernetes quantity for a target: whole numbers plain, fractions in milli-units."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def _meta(model: SmallModel) -> dict[str, Any]:
    name = model.metadata.name
    return {
        "name": name,
        "namespace": model.metadata.namespace or "default",
        "labels": {**common_labels(name), "app.kubernetes.io/component": "autoscaler"},
        "ownerReferences": [owner_reference("SmallModel", name, model.metadata.uid or "")],
    }


def _target_ref(model: SmallModel) -> dict[str, str]:
    """The SmallModel's scale subresource (a reference: nothing is applied to the SmallModel)."""
    return {"apiVersion": API_VERSION, "kind": model.kind, "name": model.metadata.name}


def _rules(rules: ScalingRules) -> dict[str, Any]:
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "policies": [
            {"type": "Pods", "value": rules.max_step, "periodSeconds": POLICY_PERIOD_SECONDS}
        ],
    }


def _behavior(spec: AutoscalingSpec) -> dict[str, Any]:
    return {"scaleUp": _rules(spec.scale_up), "scaleDown": _rules(spec.scale_down)}


def _pods_metric(name: str, per_replica: float) -> dict[str, Any]:
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": name},
            "target": {"type": "AverageValue", "averageValue": quantity(per_replica)},
        },
    }


def horizontal_pod_autoscaler(model: SmallModel, spec: AutoscalingSpec) -> dict[str, Any]:
    """The autoscaling/v2 HPA for mode ``hpa``."""
    targets = spec.targets
    metrics: list[dict[str, Any]] = []
    if targets.num_requests_waiting is not None:
        metrics.append(_pods_metric("vllm_num_requests_waiting", targets.num_requests_waiting))
    if targets.kv_cache_usage_perc is not None:
        metrics.append(_pods_metric("vllm_kv_cache_usage_perc", targets.kv_cache_usage_perc))
    if targets.router_in_flight is not None:
        metrics.append(
            {
                "type": "External",
                "external": {
                    "metric": {
                        "name": "slmfleet_router_in_flight_requests",
                        "selector": {"matchLabels": {"route": model.served_model_name}},
                    },
                    "target": {
                        "type": "AverageValue",
                        "averageValue": quantity(targets.router_in_flight),
                    },
                },
            }
        )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(model),
        "spec": {
            "scaleTargetRef": _target_ref(model),
            "minReplicas": max(model.spec.min_replicas, 1),
            "maxReplicas": model.spec.max_replicas,
            "metrics": metrics,
            "behavior": _behavior(spec),
        },
    }


def _selector(model: SmallModel) -> str:
    namespace = model.metadata.namespace or "default"
    return f'namespace="{namespace}",slmfleet_io_model="{model.metadata.name}"'


def _trigger(server: str, query: str, threshold: float) -> dict[str, Any]:
    return {
        "type": "prometheus",
        "metricType": "AverageValue",
        "metadata": {"serverAddress": server, "query": query, "threshold": f"{threshold:g}"},
    }


def scaled_object(model: SmallModel, spec: AutoscalingSpec, prometheus_url: str) -> dict[str, Any]:
    """The KEDA ScaledObject for mode ``keda``; its triggers query ``prometheus_url``."""
    targets = spec.targets
    pods = _selector(model)
    w = f"{spec.metric_window_seconds}s"
    triggers: list[dict[str, Any]] = []
    if targets.num_requests_waiting is not None:
        query = f"sum(avg_over_time(vllm:num_requests_waiting{{{pods}}}[{w}]))"
        triggers.append(_trigger(prometheus_url, query, targets.num_requests_waiting))
    if targets.kv_cache_usage_perc is not None:
        query = f"sum(avg_over_time(vllm:kv_cache_usage_perc{{{pods}}}[{w}]))"
        triggers.append(_trigger(prometheus_url, query, targets.kv_cache_usage_perc))
    namespace = model.metadata.namespace or "default"
    router = f'namespace="{namespace}",model="{model.served_model_name}"'
    if targets.router_in_flight is not None:
        route = f'namespace="{namespace}",route="{model.served_model_name}"'
        query = f"sum(slmfleet_router_in_flight_requests{{{route}}})"
        triggers.append(_trigger(prometheus_url, query, targets.router_in_flight))
    to_zero = spec.scale_to_zero.enabled
    if to_zero:  # requests held by the router at zero replicas wake the model
        query = f"sum(slmfleet_router_held_requests{{{router}}})"
        triggers.append(_trigger(prometheus_url, query, 1))
    body: dict[str, Any] = {
        "scaleTargetRef": _target_ref(model),
        "minReplicaCount": 0 if to_zero else max(model.spec.min_replicas, 1),
        "maxReplicaCount": model.spec.max_replicas,
        "pollingInterval": min(spec.metric_window_seconds, 30),
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(spec)}},
        "triggers": triggers,
    }
    if to_zero:
        body["cooldownPeriod"] = spec.scale_to_zero.idle_seconds
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _meta(model),
        "spec": body,
    }
