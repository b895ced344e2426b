"""Field errors in the words the Kubernetes API server uses.

The operator reports spec problems in conditions and events; wording them like the API
server (``spec.quantization: Unsupported value: "int4": supported values: ...``) means a
user sees one vocabulary whichever side caught the mistake.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from slmfleet.api.cel import CEL_ERROR_TYPE


class SpecError(ValueError):
    """An object that cannot be served as written; one line per field error."""

    def __init__(self, errors: str | Sequence[str]) -> None:
        self.errors: tuple[str, ...] = (errors,) if isinstance(errors, str) else tuple(errors)
        super().__init__("\n".join(self.errors))

    @property
    def message(self) -> str:
        """Every error, one per line."""
        return str(self)


_TYPE_NAMES = {
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "string_type": "string",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "int_or_string_type": "integer,string",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "should be greater than or equal to"),
    "greater_than": ("gt", "should be greater than"),
    "less_than_equal": ("le", "should be less than or equal to"),
    "less_than": ("lt", "should be less than"),
}
_LITERAL_RE = re.compile(r"'((?:[^'\\]|\\.)*)'|(-?[0-9]+(?:\.[0-9]+)?)")


def field_path(loc: Iterable[int | str]) -> str:
    """``("spec", "loraAdapters", 0, "name")`` -> ``spec.loraAdapters[0].name``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "<root>"


def json_type(value: Any) -> str:
    """The JSON type name of a value, as the API server names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def go_value(value: Any) -> str:
    """A value printed the way Go's field errors print it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(json_type(value))


def _go_float(value: float) -> str:
    """Go's %v for float64: shortest digits, exponent form outside [1e-4, 1e6)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp10 = len(digits) + exponent - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return prefix + format(Decimal(repr(abs(value))).normalize(), "f")


def _supported(expected: str) -> str:
    values = [
        m.group(1) if m.group(1) is not None else m.group(2) for m in _LITERAL_RE.finditer(expected)
    ]
    return ", ".join(json.dumps(v) for v in values)


def describe(error: ErrorDetails) -> list[str]:
    """One pydantic error as API-server style lines (a failed CEL list gives several)."""
    path = field_path(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return [f"{path}: Required value"]
    if kind == "extra_forbidden":
        return [f'{path}: unknown field "{path}"']
    if kind == "literal_error":
        supported = _supported(str(ctx.get("expected", "")))
        return [f"{path}: Unsupported value: {go_value(value)}: supported values: {supported}"]
    if kind == CEL_ERROR_TYPE:
        messages = ctx.get("messages") or [error["msg"]]
        return [f'{path}: Invalid value: "{json_type(_plain(value))}": {m}' for m in messages]
    if kind in _TYPE_NAMES:
        got = json_type(value)
        return [
            f'{path}: Invalid value: "{got}": {path} in body must be of type '
            f'{_TYPE_NAMES[kind]}: "{got}"'
        ]
    return [f"{path}: {_invalid(path, kind, ctx, value, error['msg'])}"]


def _invalid(path: str, kind: str, ctx: dict[str, Any], value: Any, msg: str) -> str:
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = ctx[key]
        shown = _go_float(limit) if isinstance(limit, float) else str(limit)
        return f"Invalid value: {go_value(value)}: {path} in body {words} {shown}"
    if kind == "string_pattern_mismatch":
        return f"Invalid value: {go_value(value)}: {path} in body should match '{ctx['pattern']}'"
    if kind == "string_too_long":
        return f"Too long: may not be more than {ctx['max_length']} bytes"
    if kind == "string_too_short":
        return (
            f"Invalid value: {go_value(value)}: {path} in body should be at least "
            f"{ctx['min_length']} chars long"
        )
    if kind == "too_long":
        # pydantic leaves actual_length unset for an oversized dict (a map in the CRD).
        actual = ctx.get("actual_length")
        if actual is None and isinstance(value, dict | list):
            actual = len(value)
        return f"Too many: {actual}: must have at most {ctx['max_length']} items"
    if kind == "too_short":
        return (
            f"Invalid value: {ctx['actual_length']}: {path} in body should have at least "
            f"{ctx['min_length']} items"
        )
    return msg


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


def spec_error(exc: ValidationError) -> SpecError:
    """Every error of a pydantic ValidationError, in API-server words."""
    return SpecError([line for error in exc.errors() for line in describe(error)])
