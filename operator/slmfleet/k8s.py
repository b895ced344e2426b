"""The one place that talks to the Kubernetes API: server-side apply with one field manager, get, list.

Objects are plain dicts (the builders' output). Kinds are resolved through a small static table, so
no discovery round trip is needed; a kind outside the table is a programming error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slmfleet import API_VERSION, FIELD_MANAGER
from slmfleet.observability.metrics import api_call, api_verb


@dataclass(frozen=True)
class Resource:
    api_version: str
    plural: str
    namespaced: bool


RESOURCES: dict[str, Resource] = {
    r_kind: Resource(api, plural, ns)
    for r_kind, api, plural, ns in (
        ("Namespace", "v1", "namespaces", False),
        ("Node", "v1", "nodes", False),
        ("Pod", "v1", "pods", True),
        ("Service", "v1", "services", True),
        ("ConfigMap", "v1", "configmaps", True),
        ("Secret", "v1", "secrets", True),
        ("PersistentVolume", "v1", "persistentvolumes", False),
        ("PersistentVolumeClaim", "v1", "persistentvolumeclaims", True),
        ("StorageClass", "storage.k8s.io/v1", "storageclasses", False),
        ("Job", "batch/v1", "jobs", True),
        ("ServiceAccount", "v1", "serviceaccounts", True),
        ("Event", "v1", "events", True),
        ("Deployment", "apps/v1", "deployments", True),
        ("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", True),
        ("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", True),
        ("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True),
        ("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", True),
        ("Lease", "coordination.k8s.io/v1", "leases", True),
        ("CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions", False),
        ("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", False),
        ("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
        ("Role", "rbac.authorization.k8s.io/v1", "roles", True),
        ("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", True),
        ("SubjectAccessReview", "authorization.k8s.io/v1", "subjectaccessreviews", False),
        ("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes", True),
        ("ScaledObject", "keda.sh/v1alpha1", "scaledobjects", True),
        ("GPUClass", API_VERSION, "gpuclasses", False),
        ("SmallModel", API_VERSION, "smallmodels", True),
        ("EvalSuite", API_VERSION, "evalsuites", True),
        ("ModelRoute", API_VERSION, "modelroutes", True),
    )
}


def resource_for(kind: str) -> Resource:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise KeyError(f"slmfleet.k8s does not know the kind {kind!r}") from None


def resource_label(kind: str, sub: str = "") -> str:
    """What the API call metric calls the resource of a call: ``deployments``,
    ``smallmodels/status``."""
    return f"{resource_for(kind).plural}{'/' + sub if sub else ''}"


def _path(kind: str, namespace: str | None, name: str | None = None, sub: str = "") -> str:
    res = resource_for(kind)
    prefix = "/api/v1" if res.api_version == "v1" else f"/apis/{res.api_version}"
    ns = f"/namespaces/{namespace}" if res.namespaced and namespace else ""
    tail = f"/{name}" if name else ""
    return f"{prefix}{ns}/{res.plural}{tail}{'/' + sub if sub else ''}"


class Kube:
    """Thin synchronous client over one kubernetes ApiClient."""

    def __init__(
        self, api: client.ApiClient, field_manager: str = FIELD_MANAGER, timeout: float = 30.0
    ) -> None:
        self.api = api
        self.field_manager = field_manager
        self.timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        content_type: str = "application/json",
        verb: str = "",
        resource: str = "",
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method, url, headers, payload, post = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        verb = verb or api_verb(method, content_type)
        try:
            resp = self.api.call_api(
                method, url, header_params=headers, body=payload, post_params=post,
                _request_timeout=self.timeout,
            )  # fmt: skip
            resp.read()
        except Exception:
            api_call(verb, None, resource)
            raise
        api_call(verb, resp.status, resource)
        if not 200 <= resp.status <= 299:
            raise ApiException(http_resp=resp)
        return dict(json.loads(resp.data)) if resp.data else {}

    def apply(self, obj: Mapping[str, Any], *, subresource: str = "") -> dict[str, Any]:
        """Server-side apply ``obj`` (force: this operator owns the fields it sets)."""
        meta = obj["metadata"]
        path = _path(obj["kind"], meta.get("namespace"), meta["name"], subresource)
        query = [("fieldManager", self.field_manager), ("force", "true")]
        return self._call(
            "PATCH", path, json.dumps(obj), query, "application/apply-patch+yaml",
            resource=resource_label(obj["kind"], subresource),
        )  # fmt: skip

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self._call("GET", _path(kind, namespace, name), resource=resource_label(kind))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def list(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else []
        path = _path(kind, namespace)
        body = self._call("GET", path, query=query, verb="list", resource=resource_label(kind))
        return list(body.get("items") or [])

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        uid: str | None = None,
        propagation: str | None = None,
    ) -> bool:
        """Delete with foreground-free defaults; False when it was already gone (or, with
        ``uid``, replaced by another object of the same name since it was read). A Job needs
        ``propagation="Background"``, or its pods are left behind."""
        body: dict[str, Any] | None = {"preconditions": {"uid": uid}} if uid else None
        if propagation is not None:
            body = {**(body or {}), "propagationPolicy": propagation}
        try:
            self._call("DELETE", _path(kind, namespace, name), body, resource=resource_label(kind))
        except ApiException as err:
            if err.status == 404 or (uid and err.status == 409):
                return False
            raise
        return True

    def merge_patch(
        self,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        path = _path(kind, namespace, name, subresource)
        return self._call(
            "PATCH", path, dict(patch), content_type="application/merge-patch+json",
            resource=resource_label(kind, subresource),
        )  # fmt: skip

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        path = _path(obj["kind"], meta.get("namespace"))
        return self._call("POST", path, dict(obj), resource=resource_label(obj["kind"]))
