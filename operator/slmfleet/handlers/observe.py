"""Read what a SmallModel's plan needs (I/O only, no decisions): from the cache, the Hub, a Secret.

Everything but the Hub token comes from the watch-fed cache. Model facts and the token check are
looked up once per (repo, revision, token Secret) and remembered for FACTS_TTL_SECONDS
(FAILURE_TTL_SECONDS when the facts or the token could not be had), so the token Secret is read
at most that often, never on every pass, and the operator never lists or watches Secrets.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.parse import parse_gpuclass
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.cache.view import FleetCache
from slmfleet.handlers.weight_observe import observe_weights
from slmfleet.k8s import Kube
from slmfleet.planner import FactsUnavailable, ModelFacts, resolve_facts
from slmfleet.reconcile.smallmodel import DeploymentState, Observed, gpu_spec, token_problem

log = logging.getLogger(__name__)

FACTS_TTL_SECONDS = 600.0
FAILURE_TTL_SECONDS = 30.0
PVC_NOT_PLANNED = (
    "the memory planner needs the model's config.json, which it reads from the Hugging "
    "Face Hub; a PVC source cannot be planned"
)


@dataclass(frozen=True)
class Facts:
    facts: ModelFacts | None
    error: str | None
    token_error: str | None


_memo: dict[tuple[str, str, str, str], tuple[float, Facts]] = {}
_memo_lock = threading.Lock()


def _token(kube: Kube, model: SmallModel) -> tuple[str | None, str | None]:
    """The Hub token the model names, and why it cannot be used (None when it can, or none is
    named)."""
    hf = model.spec.source.hugging_face
    if hf is None or hf.token_secret_ref is None:
        return None, None
    ref = hf.token_secret_ref
    secret = kube.get("Secret", ref.name, model.metadata.namespace)
    data = (secret or {}).get("data") or {}
    raw = data.get(ref.key)
    token = base64.b64decode(raw).decode() if raw else None
    return token, token_problem(ref.name, ref.key, secret is not None, bool(raw))


def _resolve(kube: Kube, model: SmallModel) -> Facts:
    hf = model.spec.source.hugging_face
    assert hf is not None
    token, token_error = _token(kube, model)
    try:
        resolved = resolve_facts(hf.repo, hf.revision, token=token)
    except FactsUnavailable as err:
        return Facts(None, str(err), token_error)
    log.debug("facts for %s: %s", hf.repo, resolved.detail)
    return Facts(resolved.facts, None, token_error)


def model_facts(kube: Kube, model: SmallModel) -> Facts:
    """Facts from the Hub (or its cache), else the offline catalog; or the reason there are
    none; and what is wrong with the token Secret, if anything."""
    hf = model.spec.source.hugging_face
    if hf is None:
        return Facts(None, PVC_NOT_PLANNED, None)
    ref = hf.token_secret_ref
    key = (
        hf.repo,
        hf.revision,
        f"{model.metadata.namespace}/{ref.name}" if ref else "",
        ref.key if ref else "",
    )
    now = time.monotonic()
    with _memo_lock:
        found = _memo.get(key)
    if found is not None and found[0] > now:
        return found[1]
    facts = _resolve(kube, model)
    ok = facts.facts is not None and facts.token_error is None
    with _memo_lock:
        for stale in [k for k, (until, _) in _memo.items() if until <= now]:
            del _memo[stale]  # no model of that repo asked within the TTL
        _memo[key] = (now + (FACTS_TTL_SECONDS if ok else FAILURE_TTL_SECONDS), facts)
    return facts


def unschedulable_message(pods: list[dict[str, Any]]) -> str | None:
    """The scheduler's reason for the first engine pod it could not place, if any."""
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                return str(cond.get("message") or "unschedulable")
    return None


def owned_by(meta: dict[str, Any], uid: str | None) -> bool:
    """Not being deleted, and not left over from an earlier SmallModel of the same name."""
    owners = [o.get("uid") for o in meta.get("ownerReferences") or []]
    return not meta.get("deletionTimestamp") and (not uid or not owners or uid in owners)


def engine_deployments(
    deployments: list[dict[str, Any]], uid: str | None
) -> dict[str, DeploymentState]:
    """The model's engine Deployments (one per revision), by revision."""
    out = {}
    for dep in deployments:
        meta = dep.get("metadata") or {}
        revision = (meta.get("labels") or {}).get(REVISION_LABEL)
        if revision and owned_by(meta, uid):
            out[revision] = DeploymentState.from_body(dep)
    return out


_parsed_classes: dict[str, tuple[str, GPUClassSpec | None]] = {}
_parsed_lock = threading.Lock()


def gpuclass_spec(body: dict[str, Any]) -> GPUClassSpec | None:
    """The parsed spec of a cached GPUClass (None: invalid), parsed once per resourceVersion:
    every plan reads every class, and a fleet has many models and few classes."""
    meta = body.get("metadata") or {}
    name, version = str(meta.get("name")), str(meta.get("resourceVersion") or "")
    with _parsed_lock:
        found = _parsed_classes.get(name)
    if found is not None and found[0] == version and version:
        return found[1]
    try:
        spec: GPUClassSpec | None = parse_gpuclass(body).spec
    except ValueError:
        spec = None
    with _parsed_lock:
        _parsed_classes[name] = (version, spec)
    return spec


def observe(cache: FleetCache, kube: Kube, model: SmallModel) -> Observed:
    spec = model.spec
    ns, name = model.metadata.namespace or "", model.metadata.name
    body = cache.gpuclass(spec.gpu_class_name)
    gpuclass = gpuclass_spec(body) if body is not None else None
    if body is not None and gpuclass is None:
        parse_gpuclass(body)  # raises what is wrong with it
    others = []
    for item in cache.gpuclasses():
        parsed = gpuclass_spec(item)
        if parsed is not None:  # an invalid GPUClass is reported on itself
            others.append(gpu_spec(item["metadata"]["name"], parsed))
    facts = model_facts(kube, model)
    pods = cache.pods(ns, name)
    return Observed(
        gpuclass=gpuclass,
        facts=facts.facts,
        facts_error=facts.error,
        token_error=facts.token_error,
        revisions=engine_deployments(cache.deployments(ns, name), model.metadata.uid),
        unschedulable=unschedulable_message(pods),
        other_gpuclasses=tuple(others),
        weights=observe_weights(cache, kube, model),
        pods=tuple(pods),
        budgets=tuple(cache.disruption_budgets(ns, name)),
    )
