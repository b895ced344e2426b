"""Turn a pydantic model's JSON schema into a Kubernetes structural schema.

Kubernetes wants every node typed and self-contained, so this inlines ``$defs``/``$ref``,
folds ``Optional[X]`` (``anyOf`` with null) into ``X`` (null is pruned by the API server, so
no field needs ``nullable``), drops titles and ``additionalProperties: false``, rewrites
JSON-Schema-2020 ``exclusiveMinimum: n`` as ``minimum: n, exclusiveMinimum: true`` and
``const`` as a one-value ``enum``. Descriptions, enums, bounds, patterns, defaults, maps and
``x-kubernetes-*`` extensions (CEL rules included) pass through.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from slmfleet.api.cel import VALIDATIONS_KEY

Schema = dict[str, Any]

_DROPPED_KEYS = frozenset({"title", "$defs"})
_REF_PREFIX = "#/$defs/"


def structural_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of ``model``, keyed and nested as the CRD needs it."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    return _convert(raw, defs)


def _convert(node: Schema, defs: dict[str, Schema]) -> Schema:
    node = _resolve(node, defs)
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs)
        elif key == "anyOf":
            out[key] = [_convert(sub, defs) for sub in value]
        elif key == "additionalProperties":
            if value is True:
                out["x-kubernetes-preserve-unknown-fields"] = True
            elif isinstance(value, dict):
                out[key] = _convert(value, defs)
        elif key == "default":
            if value is not None:
                out[key] = copy.deepcopy(value)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve(node: Schema, defs: dict[str, Schema]) -> Schema:
    """Fold $ref, single-entry allOf and Optional anyOf into one flat node."""
    if "$ref" in node:
        target = defs[node["$ref"].removeprefix(_REF_PREFIX)]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _merge(_resolve(target, defs), rest)
    if "allOf" in node and len(node["allOf"]) == 1:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return _merge(_resolve(node["allOf"][0], defs), rest)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        if len(options) < len(node["anyOf"]) and len(options) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _merge(_resolve(options[0], defs), rest)
    return node


def _merge(base: Schema, override: Schema) -> Schema:
    """``override`` wins, except that CEL rules from both are kept."""
    merged = {**base, **override}
    rules = [*base.get(VALIDATIONS_KEY, []), *override.get(VALIDATIONS_KEY, [])]
    if rules:
        merged[VALIDATIONS_KEY] = [r for i, r in enumerate(rules) if r not in rules[:i]]
    return merged


def walk(schema: Schema, path: str = "") -> list[tuple[str, Schema]]:
    """Every node of a schema with its dotted path, parents first."""
    nodes = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        nodes.extend(walk(sub, f"{path}.{name}"))
    if isinstance(schema.get("items"), dict):
        nodes.extend(walk(schema["items"], f"{path}[*]"))
    if isinstance(schema.get("additionalProperties"), dict):
        nodes.extend(walk(schema["additionalProperties"], f"{path}.*"))
    for i, sub in enumerate(schema.get("anyOf", [])):
        nodes.extend(walk(sub, f"{path}|{i}"))
    return nodes
