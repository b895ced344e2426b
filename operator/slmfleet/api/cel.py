"""CEL rules kept in two places at once.

A :class:`Cel` carries one rule for the API server (it lands in the CRD as an
``x-kubernetes-validations`` entry) together with the same check written in Python, which
the pydantic models run. Defining both side by side keeps the CRD and the models agreeing
on what they reject. Rules that compare with ``oldSelf`` (transition rules) have no
single-object check; :mod:`slmfleet.api.parse` holds their Python side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.alias_generators import to_snake
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

VALIDATIONS_KEY = "x-kubernetes-validations"
CEL_ERROR_TYPE = "cel"


@dataclass(frozen=True)
class Cel:
    """One CEL rule and its Python twin.

    Used two ways: as ``Annotated[..., Cel(...)]`` metadata on a field (the rule's ``self``
    is the field value), or listed in a spec model's ``CEL_RULES`` (``self`` is the object).
    ``check`` receives the validated Python value and returns True when the value is valid;
    it is None for transition rules, which need the previous object.
    """

    rule: str
    message: str
    check: Callable[[Any], bool] | None = None
    field_path: str | None = None

    @property
    def is_transition(self) -> bool:
        return "oldSelf" in self.rule

    def to_crd(self) -> dict[str, str]:
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path:
            entry["fieldPath"] = self.field_path
        return entry

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        if self.check is None:
            return schema
        return core_schema.no_info_after_validator_function(self._validate, schema)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        add_rules(json_schema, (self,))
        return json_schema

    def _validate(self, value: Any) -> Any:
        if self.check is not None and not self.check(value):
            raise cel_error((self.message,))
        return value


def exactly_one(first: str, second: str, message: str) -> Cel:
    """The rule that an object sets exactly one of two fields (camelCase names)."""
    names = (to_snake(first), to_snake(second))
    return Cel(
        f"has(self.{first}) != has(self.{second})",
        message,
        lambda s: (getattr(s, names[0]) is None) != (getattr(s, names[1]) is None),
    )


def cel_error(messages: Iterable[str]) -> PydanticCustomError:
    """The pydantic error for failed rules; :mod:`slmfleet.api.errors` prints one line each."""
    listed = list(messages)
    return PydanticCustomError(
        CEL_ERROR_TYPE, "{message}", {"message": "; ".join(listed), "messages": listed}
    )


def failed_messages(rules: Iterable[Cel], value: Any) -> list[str]:
    """Messages of the single-object rules that ``value`` breaks."""
    return [r.message for r in rules if r.check is not None and not r.check(value)]


def add_rules(json_schema: dict[str, Any], rules: Iterable[Cel]) -> None:
    """Append rules to a JSON schema node, skipping ones already there."""
    entries = [r.to_crd() for r in rules]
    if not entries:
        return
    present = json_schema.setdefault(VALIDATIONS_KEY, [])
    present.extend(e for e in entries if e not in present)
