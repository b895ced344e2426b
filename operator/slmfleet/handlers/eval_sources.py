"""What an eval needs besides the canary (I/O): its cases (inline, a ConfigMap dataset or one on a
claim, handlers/eval_datasets.py) and the reference model to compare with (a SmallModel, or a
ModelRoute backend under the route's rules).

Each function returns the thing or a sentence saying why not; the analysis is then inconclusive
with that sentence, never a retry loop.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from slmfleet.analysis.dataset import DatasetError, parse_jsonl
from slmfleet.analysis.evalrunner import Target
from slmfleet.api.errors import SpecError
from slmfleet.api.eval_dataset import PvcFile
from slmfleet.api.evalsuite import EvalCase, EvalReference, EvalSuiteSpec
from slmfleet.api.modelroute import parse_modelroute
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.route_backend import RouteBackend
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.reconcile.backend_policy import backend_refusal

Get = Callable[[str, str, str], dict[str, Any] | None]
"""(kind, name, namespace) -> the object, or None when it does not exist."""
FromClaim = Callable[[PvcFile], list[EvalCase] | str]
"""A dataset on a PersistentVolumeClaim -> its cases, or why not (handlers/eval_datasets.py)."""
Endpoints = Callable[[str, str], list[str]]
"""(model name, revision) -> ``ip:port`` of its ready pods."""


def suite_cases(
    suite: EvalSuiteSpec, namespace: str, get: Get, from_claim: FromClaim
) -> list[EvalCase] | str:
    if suite.cases is not None:
        return list(suite.cases)
    if suite.cases_from is None:
        return "the suite has no cases"
    if suite.cases_from.pvc_file is not None:
        return from_claim(suite.cases_from.pvc_file)
    ref = suite.cases_from.config_map_key_ref
    assert ref is not None  # the API allows exactly one source
    config_map = get("ConfigMap", ref.name, namespace)
    if config_map is None:
        return f"ConfigMap {ref.name!r} does not exist"
    text = (config_map.get("data") or {}).get(ref.key)
    if text is None:
        return f"ConfigMap {ref.name!r} has no key {ref.key!r}"
    try:
        return parse_jsonl(str(text))
    except DatasetError as err:
        return f"ConfigMap {ref.name!r} key {ref.key!r}: {err}"


def _small_model(
    cache: FleetCache, namespace: str, name: str, endpoints: Endpoints, model: str | None = None
) -> Target | str:
    body = cache.smallmodel(namespace, name)
    if body is None:
        return f"SmallModel {name!r} does not exist"
    try:
        reference = parse_smallmodel(body)
    except SpecError:
        return f"SmallModel {name!r} is invalid"
    status = reference.status
    revision = (status.rollout.stable_revision if status.rollout else None) or status.template_hash
    found = endpoints(name, revision or "")
    if not found:
        return f"SmallModel {name!r} has no ready pod"
    return Target.pods(found, model or reference.served_model_name)


def _url_backend(
    route: str, backend: RouteBackend, secrets: Mapping[str, dict[str, Any] | None]
) -> Target:
    headers: dict[str, str] = {}
    ref = backend.api_key_secret_ref
    if ref is not None:
        data = (secrets.get(ref.name) or {}).get("data") or {}
        key = base64.b64decode(data.get(ref.key) or "").decode().strip()
        headers["Authorization"] = f"Bearer {key}"
    base = (backend.url or "").removesuffix("/v1")
    return Target((base,), backend.model or route, headers)


def reference_target(
    cache: FleetCache, namespace: str, ref: EvalReference, get: Get, endpoints: Endpoints
) -> Target | str:
    """Who answers as the reference; a ModelRoute url backend only when the route itself would
    be allowed to call it (allowed hosts, Secret labelled for the router)."""
    if ref.small_model_ref is not None:
        return _small_model(cache, namespace, ref.small_model_ref.name, endpoints)
    assert ref.model_route_ref is not None  # the API allows exactly one
    name, wanted = ref.model_route_ref.name, ref.model_route_ref.backend
    body = next((r for r in cache.modelroutes(namespace) if r["metadata"]["name"] == name), None)
    if body is None:
        return f"ModelRoute {name!r} does not exist"
    try:
        route = parse_modelroute(body)
    except SpecError:
        return f"ModelRoute {name!r} is invalid"
    backend = next((b for b in route.spec.backends if b.name == wanted), None)
    if backend is None:
        return f"ModelRoute {name!r} has no backend {wanted!r}"
    if backend.small_model_ref is not None:
        return _small_model(
            cache, namespace, backend.small_model_ref.name, endpoints, backend.model
        )
    ref_name = backend.api_key_secret_ref.name if backend.api_key_secret_ref else None
    secrets = {ref_name: get("Secret", ref_name, namespace)} if ref_name else {}
    labels = {
        n: None if s is None else dict((s.get("metadata") or {}).get("labels") or {})
        for n, s in secrets.items()
    }
    only = route.spec.model_copy(update={"backends": [backend], "client_key_secret_ref": None})
    refused = backend_refusal(only, labels, settings().router_allowed_hosts)
    if refused is not None:
        return f"ModelRoute {name!r}: {refused.message}"
    return _url_backend(name, backend, secrets)
