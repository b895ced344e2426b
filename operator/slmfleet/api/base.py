"""Base classes shared by every API model.

- :class:`ApiModel`: camelCase aliases, accepts field names too, frozen, dumps by alias.
- :class:`SpecModel`: what users write. Strict types (``"16"`` is not an integer, as on the
  API server), unknown fields rejected, and the class's ``CEL_RULES`` both checked in
  Python and emitted into the CRD.
- :class:`StatusModel`: what the operator writes. Lenient and ignores unknown fields so an
  older operator can read a newer status.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from slmfleet.api.cel import Cel, add_rules, cel_error, failed_messages


class ApiModel(BaseModel):
    """Common configuration: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
    )

    def to_body(self) -> dict[str, Any]:
        """The JSON-ready dict as stored in Kubernetes (camelCase, unset fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _emit_class_rules(schema: dict[str, Any], cls: type[Any]) -> None:
    add_rules(schema, getattr(cls, "CEL_RULES", ()))


class SpecModel(ApiModel):
    """A user-written object: strict, closed, with object-level CEL rules."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_emit_class_rules)

    CEL_RULES: ClassVar[tuple[Cel, ...]] = ()

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        failed = failed_messages(self.CEL_RULES, self)
        if failed:
            raise cel_error(failed)
        return self


class StatusModel(ApiModel):
    """An operator-written object: lenient, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")
