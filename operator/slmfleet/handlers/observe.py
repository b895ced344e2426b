"""Read what the SmallModel reconcile needs from the cluster and the Hub (I/O only, no decisions)."""

from __future__ import annotations

import base64
import logging
from typing import Any

from slmfleet.api.parse import parse_gpuclass
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import REVISION_LABEL, selector_labels
from slmfleet.k8s import Kube
from slmfleet.planner import FactsUnavailable, ModelFacts, resolve_facts
from slmfleet.reconcile.smallmodel import DeploymentState, Observed, gpu_spec, token_problem

log = logging.getLogger(__name__)


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
    return (base64.b64decode(raw).decode() if raw else None), token_problem(
        ref.name, ref.key, secret is not None, bool(raw)
    )


def model_facts(
    kube: Kube, model: SmallModel, token: str | None = None
) -> tuple[ModelFacts | None, str | None]:
    """Facts from the Hub (or its cache), else the offline catalog; or the reason there are none."""
    hf = model.spec.source.hugging_face
    if hf is None:
        return None, (
            "the memory planner needs the model's config.json, which it reads from the Hugging "
            "Face Hub; a PVC source cannot be planned"
        )
    try:
        resolved = resolve_facts(hf.repo, hf.revision, token=token)
    except FactsUnavailable as err:
        return None, str(err)
    log.debug("facts for %s: %s", hf.repo, resolved.detail)
    return resolved.facts, None


def unschedulable_message(kube: Kube, model: SmallModel) -> str | None:
    """The scheduler's reason for the first engine pod it could not place, if any."""
    selector = ",".join(f"{k}={v}" for k, v in selector_labels(model.metadata.name).items())
    for pod in kube.list("Pod", model.metadata.namespace, selector):
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                return str(cond.get("message") or "unschedulable")
    return None


def owned_by(meta: dict[str, Any], uid: str | None) -> bool:
    """Not being deleted, and not left over from an earlier SmallModel of the same name."""
    owners = [o.get("uid") for o in meta.get("ownerReferences") or []]
    return not meta.get("deletionTimestamp") and (not uid or not owners or uid in owners)


def engine_deployments(kube: Kube, model: SmallModel) -> dict[str, DeploymentState]:
    """The model's engine Deployments (one per revision), by revision."""
    selector = ",".join(f"{k}={v}" for k, v in selector_labels(model.metadata.name).items())
    out = {}
    for dep in kube.list("Deployment", model.metadata.namespace, selector):
        meta = dep.get("metadata") or {}
        revision = (meta.get("labels") or {}).get(REVISION_LABEL)
        if revision and owned_by(meta, model.metadata.uid):
            out[revision] = DeploymentState.from_body(dep)
    return out


def observe(kube: Kube, model: SmallModel) -> Observed:
    spec = model.spec
    body = kube.get("GPUClass", spec.gpu_class_name)
    gpuclass = parse_gpuclass(body).spec if body is not None else None
    others = []
    for item in kube.list("GPUClass"):
        try:
            others.append(gpu_spec(item["metadata"]["name"], parse_gpuclass(item).spec))
        except ValueError:
            continue  # an invalid GPUClass is reported on itself
    token, token_error = _token(kube, model)
    facts, facts_error = model_facts(kube, model, token)
    return Observed(
        gpuclass=gpuclass,
        facts=facts,
        facts_error=facts_error,
        token_error=token_error,
        revisions=engine_deployments(kube, model),
        unschedulable=unschedulable_message(kube, model),
        other_gpuclasses=tuple(others),
    )
