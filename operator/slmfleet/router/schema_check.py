"""A small JSON Schema subset for checking model answers.

Supported keywords: type (a name or a list of names), enum, const, required, properties,
additionalProperties (boolean), items (one schema), minItems, maxItems. Anything else is ignored,
which is the permissive reading JSON Schema itself takes of unknown keywords. That covers the
"answer must be an object with these fields" checks a cascade needs without a dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _is_type(value: Any, name: str) -> bool:
    checks: dict[str, bool] = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return checks.get(name, False)


def _type_errors(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    wanted = schema.get("type")
    if wanted is None:
        return []
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    if any(_is_type(value, name) for name in names):
        return []
    return [f"{path}: expected type {'|'.join(names)}"]


def _object_errors(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors = [
        f"{path}: missing required property {name!r}"
        for name in schema.get("required", [])
        if name not in value
    ]
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, sub_schema in properties.items():
        if name in value:
            errors.extend(schema_errors(value[name], sub_schema, f"{path}.{name}"))
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(properties))
        errors.extend(f"{path}: unexpected property {name!r}" for name in extra)
    return errors


def _array_errors(value: list[Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    if "minItems" in schema and len(value) < int(schema["minItems"]):
        errors.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > int(schema["maxItems"]):
        errors.append(f"{path}: more than {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            errors.extend(schema_errors(item, items, f"{path}[{index}]"))
    return errors


def _same(left: Any, right: Any) -> bool:
    """JSON equality: True is not 1, 1 is 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every way `value` breaks `schema` (empty when it conforms), each prefixed by its path."""
    errors = _type_errors(value, schema, path)
    if errors:
        return errors
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        errors.append(f"{path}: not one of the allowed values")
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"{path}: not the constant value")
    if isinstance(value, dict):
        errors.extend(_object_errors(value, schema, path))
    if isinstance(value, list):
        errors.extend(_array_errors(value, schema, path))
    return errors
