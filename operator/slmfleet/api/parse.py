"""Parse Kubernetes bodies into the API models, or explain everything wrong with them.

``parse_*`` run the same checks as the CRD (schema and CEL, through the models) plus the
rules only the operator can check, and raise one :class:`SpecError` listing every problem.
``check_*_update`` are the Python side of the CRDs' transition rules (those comparing with
``oldSelf``), which the API server enforces on update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from slmfleet.api.errors import SpecError, spec_error
from slmfleet.api.gpuclass import PRODUCT_IMMUTABLE, GPUClass
from slmfleet.api.operator_rules import gpuclass_rule_errors, smallmodel_rule_errors
from slmfleet.api.smallmodel import SERVED_NAME_IMMUTABLE, SmallModel

M = TypeVar("M", bound=BaseModel)


def plain(value: Any) -> Any:
    """A deep copy made of dicts and lists only (kopf hands out read-only mapping views).

    Fields set to null are dropped, as the API server prunes them before validating.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _parse(model: type[M], body: Mapping[str, Any], rules: Callable[[M], list[str]]) -> M:
    data = plain(body)
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc) from None
    errors = rules(obj)
    if errors:
        raise SpecError(errors)
    return obj


def parse_gpuclass(body: Mapping[str, Any]) -> GPUClass:
    """A GPUClass from its body; :class:`SpecError` lists every problem."""
    return _parse(GPUClass, body, gpuclass_rule_errors)


def parse_smallmodel(body: Mapping[str, Any]) -> SmallModel:
    """A SmallModel from its body; :class:`SpecError` lists every problem."""
    return _parse(SmallModel, body, smallmodel_rule_errors)


def gpuclass_update_errors(old: GPUClass, new: GPUClass) -> list[str]:
    """What the API server would refuse in changing ``old`` into ``new``."""
    if old.spec.product != new.spec.product:
        return [f'spec.product: Invalid value: "string": {PRODUCT_IMMUTABLE.message}']
    return []


def smallmodel_update_errors(old: SmallModel, new: SmallModel) -> list[str]:
    """What the API server would refuse in changing ``old`` into ``new``."""
    before, after = old.spec.served_model_name, new.spec.served_model_name
    if before is not None and after != before:
        return [f'spec.servedModelName: Invalid value: "object": {SERVED_NAME_IMMUTABLE.message}']
    return []


def check_gpuclass_update(old: GPUClass, new: GPUClass) -> None:
    """Raise :class:`SpecError` if the change breaks a transition rule."""
    errors = gpuclass_update_errors(old, new)
    if errors:
        raise SpecError(errors)


def check_smallmodel_update(old: SmallModel, new: SmallModel) -> None:
    """Raise :class:`SpecError` if the change breaks a transition rule."""
    errors = smallmodel_update_errors(old, new)
    if errors:
        raise SpecError(errors)
