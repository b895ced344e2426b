"""The watch-fed indexes (kopf's informer cache): one per kind the operator reads repeatedly.

kopf lists each kind once, then watches it, and calls these functions on every change; what
they return is all that is kept in memory (slim objects, see slim.py). Engine Deployments,
pods and EndpointSlices are filtered by the API server to the objects that carry the model
label (``configure_selectors``), so unrelated workloads never reach the operator. kopf holds
back every other handler until each index has seen its initial listing, so no decision is ever
made from a half-filled cache.
"""

from __future__ import annotations

from typing import Any

import kopf

from slmfleet import GROUP, VERSION
from slmfleet.builders.labels import MODEL_LABEL
from slmfleet.cache import slim
from slmfleet.weights.names import WEIGHTS_LABEL

Key = tuple[str, str]

# Index names: kopf hands the indexes to handlers under these keyword names.
SMALLMODELS = "smallmodels_index"
GPUCLASSES = "gpuclasses_index"
MODELROUTES = "modelroutes_index"
EVALSUITES = "evalsuites_index"
DEPLOYMENTS = "engine_deployments_index"
PODS = "engine_pods_index"
SLICES = "engine_slices_index"
NODES = "nodes_index"
WEIGHT_CLAIMS = "weight_claims_index"
WEIGHT_JOBS = "weight_jobs_index"
BUDGETS = "engine_budgets_index"
ALL_INDEXES = (
    SMALLMODELS, GPUCLASSES, MODELROUTES, EVALSUITES, DEPLOYMENTS, PODS, SLICES, NODES,
    WEIGHT_CLAIMS, WEIGHT_JOBS, BUDGETS,
)  # fmt: skip

SERVER_SIDE_SELECTORS = (
    (("apps", "deployments"), MODEL_LABEL),
    (("", "pods"), MODEL_LABEL),
    (("discovery.k8s.io", "endpointslices"), MODEL_LABEL),
    (("policy", "poddisruptionbudgets"), MODEL_LABEL),
    (("", "persistentvolumeclaims"), WEIGHTS_LABEL),
    (("batch", "jobs"), WEIGHTS_LABEL),
)


def configure_selectors(settings: kopf.OperatorSettings) -> None:
    """Watch only labelled engine objects: the API server filters, the operator never sees the rest."""
    for (group, plural), selector in SERVER_SIDE_SELECTORS:
        settings.watching.label_selectors[group, plural] = selector


def _own(body: kopf.Body) -> Key:
    return (str(body.metadata.namespace or ""), str(body.metadata.name))


def _model_key(body: kopf.Body) -> Key:
    return (str(body.metadata.namespace or ""), str(body.metadata.labels.get(MODEL_LABEL, "")))


@kopf.index(GROUP, VERSION, "smallmodels", id=SMALLMODELS)
def smallmodels_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_own(body): slim.custom_resource(body)}


@kopf.index(GROUP, VERSION, "gpuclasses", id=GPUCLASSES)
def gpuclasses_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_own(body): slim.custom_resource(body)}


@kopf.index(GROUP, VERSION, "modelroutes", id=MODELROUTES)
def modelroutes_index(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {str(body.metadata.namespace): slim.custom_resource(body)}


@kopf.index(GROUP, VERSION, "evalsuites", id=EVALSUITES)
def evalsuites_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_own(body): slim.custom_resource(body)}


@kopf.index("apps", "v1", "deployments", labels={MODEL_LABEL: kopf.PRESENT}, id=DEPLOYMENTS)
def engine_deployments_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_model_key(body): slim.deployment(body)}


@kopf.index("", "v1", "pods", labels={MODEL_LABEL: kopf.PRESENT}, id=PODS)
def engine_pods_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_model_key(body): slim.pod(body)}


@kopf.index(
    "discovery.k8s.io", "v1", "endpointslices", labels={MODEL_LABEL: kopf.PRESENT}, id=SLICES
)
def engine_slices_index(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {str(body.metadata.namespace): slim.endpoint_slice(body)}


@kopf.index("policy", "v1", "poddisruptionbudgets", labels={MODEL_LABEL: kopf.PRESENT}, id=BUDGETS)
def engine_budgets_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_model_key(body): slim.disruption_budget(body)}


@kopf.index("", "v1", "nodes", id=NODES)
def nodes_index(body: kopf.Body, **_: Any) -> dict[None, dict[str, Any]]:
    return {None: slim.node(body)}


@kopf.index(
    "", "v1", "persistentvolumeclaims", labels={WEIGHTS_LABEL: kopf.PRESENT}, id=WEIGHT_CLAIMS
)
def weight_claims_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_own(body): slim.weight_claim(body)}


@kopf.index("batch", "v1", "jobs", labels={WEIGHTS_LABEL: kopf.PRESENT}, id=WEIGHT_JOBS)
def weight_jobs_index(body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
    return {_own(body): slim.weight_job(body)}
