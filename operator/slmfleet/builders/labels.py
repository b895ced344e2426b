"""Labels and names every child object shares, so selectors, GC and dashboards line up."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from slmfleet import API_VERSION, GROUP

MODEL_LABEL = f"{GROUP}/model"
REVISION_LABEL = f"{GROUP}/revision"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY = "app.kubernetes.io/managed-by"


def selector_labels(model: str) -> dict[str, str]:
    """What the Deployment and Service select on: stable across revisions."""
    return {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": model,
        MODEL_LABEL: model,
    }


def label_selector(labels: Mapping[str, str]) -> str:
    """The equality label selector matching ``labels`` (``a=1,b=2``), as list calls take it."""
    return ",".join(f"{key}={value}" for key, value in labels.items())


def common_labels(model: str) -> dict[str, str]:
    return {
        **selector_labels(model),
        COMPONENT_LABEL: "engine",
        MANAGED_BY: "slmfleet",
        "app.kubernetes.io/part-of": "slmfleet",
    }


def template_hash(template: Mapping[str, Any]) -> str:
    """A short, stable hash of a pod template: a change of serving settings is a new revision."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    """Children are owned by their SmallModel, so deleting it garbage-collects them."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def service_name(model: str) -> str:
    """The Service in front of a model's engine pods.

    Service names must be DNS-1035 labels, while a SmallModel's name may contain dots: such a name
    is made valid and given a short hash of the original, so two models never share a Service. It
    is never plain `vllm`: a Service of that name injects VLLM_PORT=tcp://... into pods, which
    vLLM refuses at startup.
    """
    if DNS1035.match(model) and model != "vllm":
        return model
    digest = hashlib.sha256(model.encode()).hexdigest()[:5]
    base = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")
    if not base or not base[0].isalpha():
        base = f"m-{base}"
    return f"{base[: 63 - len(digest) - 1].rstrip('-')}-{digest}"
