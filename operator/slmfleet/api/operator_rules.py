"""Rules the API server cannot check, so the operator does.

They depend on operator defaults (the served name falls back to metadata.name), on
Kubernetes quantity arithmetic, or on what the operator itself injects into the Pod.
Each returns API-server style lines, empty when the object is fine.
"""

from __future__ import annotations

import re

from slmfleet.api.common import ResourceRequirements
from slmfleet.api.errors import go_value
from slmfleet.api.gpuclass import GPUClass
from slmfleet.api.model_source import SERVED_NAME_PATTERN
from slmfleet.api.quantity import parse_quantity
from slmfleet.api.smallmodel import SmallModel

LABEL_KEY_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
SERVED_NAME_RE = re.compile(SERVED_NAME_PATTERN)
TOKEN_ENV = "HF_TOKEN"


def gpuclass_rule_errors(obj: GPUClass) -> list[str]:
    """nodeSelector entries must be valid label keys and values."""
    errors = []
    for key, value in sorted(obj.spec.node_selector.items()):
        prefix = key.rpartition("/")[0]
        if not LABEL_KEY_RE.match(key) or len(prefix) > 253:
            errors.append(
                f"spec.nodeSelector: Invalid value: {go_value(key)}: not a valid label key"
            )
        if not LABEL_VALUE_RE.match(value):
            errors.append(
                f"spec.nodeSelector.{key}: Invalid value: {go_value(value)}: "
                "not a valid label value (at most 63 letters, digits, '-', '_' or '.')"
            )
    return errors


def smallmodel_rule_errors(obj: SmallModel) -> list[str]:
    """Served names, env and resources checks for one SmallModel."""
    return [
        *_served_name_errors(obj),
        *_env_errors(obj),
        *_resource_errors(obj.spec.engine.resources),
    ]


def _served_name_errors(obj: SmallModel) -> list[str]:
    errors = []
    name = obj.served_model_name
    if obj.spec.served_model_name is None and not SERVED_NAME_RE.match(name):
        errors.append(
            f"metadata.name: Invalid value: {go_value(name)}: serves as the model name "
            "when spec.servedModelName is unset, so it must be at most 63 lowercase "
            "letters, digits, '-', '_' or '.'; set spec.servedModelName"
        )
    for i, adapter in enumerate(obj.spec.lora_adapters):
        if adapter.name == name:
            errors.append(
                f"spec.loraAdapters[{i}].name: Invalid value: {go_value(adapter.name)}: "
                "adapter name equals the served model name; clients could not tell them apart"
            )
    return errors


def _env_errors(obj: SmallModel) -> list[str]:
    errors = []
    seen: set[str] = set()
    hf = obj.spec.source.hugging_face
    for i, env in enumerate(obj.spec.engine.env):
        path = f"spec.engine.env[{i}].name"
        if env.name in seen:
            errors.append(f"{path}: Duplicate value: {go_value(env.name)}")
        seen.add(env.name)
        if env.name == TOKEN_ENV and hf is not None and hf.token_secret_ref is not None:
            errors.append(
                f"{path}: Invalid value: {go_value(env.name)}: conflicts with "
                "spec.source.huggingFace.tokenSecretRef, which sets HF_TOKEN; drop one"
            )
    return errors


def _resource_errors(resources: ResourceRequirements | None) -> list[str]:
    if resources is None:
        return []
    errors = []
    base = "spec.engine.resources"
    for group in ("requests", "limits"):
        amounts = getattr(resources, group)
        for name in ("cpu", "memory"):
            amount = getattr(amounts, name) if amounts else None
            if amount is not None and parse_quantity(amount) < 0:
                errors.append(
                    f"{base}.{group}.{name}: Invalid value: {go_value(amount)}: "
                    "must be greater than or equal to 0"
                )
    if resources.requests and resources.limits:
        for name in ("cpu", "memory"):
            request = getattr(resources.requests, name)
            limit = getattr(resources.limits, name)
            if None in (request, limit):
                continue
            if parse_quantity(request) > parse_quantity(limit):
                errors.append(
                    f"{base}.requests.{name}: Invalid value: {go_value(request)}: "
                    f"must be less than or equal to {name} limit of {limit}"
                )
    return errors
