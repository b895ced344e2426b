"""The chart's values.schema.json is a well-formed, fully described schema, and values.yaml meets it.

jsonschema is not a dependency, so a small validator below covers exactly the keywords the schema
uses (a test fails if the schema starts using another one). Helm itself enforces the schema in
`helm lint` / `helm install`; tests/integration/test_chart.py checks that with the real binary.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.config import DEFAULT_ENGINE_IMAGE, settings

pytestmark = pytest.mark.unit

CHART = Path(__file__).resolve().parents[2] / "charts" / "slmfleet"

KEYWORDS = {
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "additionalProperties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
}
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def _schema() -> dict[str, Any]:
    return dict(json.loads((CHART / "values.schema.json").read_text()))


def _values() -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "values.yaml").read_text()))


def _has_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name != "boolean":
        return False  # JSON booleans are not numbers
    return isinstance(value, PYTHON_TYPES[name])


def violations(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema`` (the keyword subset in KEYWORDS), as 'path: reason'."""
    where = path or "/"
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_has_type(value, n) for n in names):
            return [f"{where}: expected {'|'.join(names)}, got {type(value).__name__}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} below minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} above maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than minLength {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match pattern {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        errors += [f"{path}/{k}: required" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += violations(props[key], item, f"{path}/{key}")
            elif extra is False:
                errors.append(f"{path}/{key}: additional property not allowed")
            elif isinstance(extra, dict):
                errors += violations(extra, item, f"{path}/{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += violations(schema["items"], item, f"{path}/{index}")
    return errors


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema that describes a value: named properties and array items."""
    found = []
    for key, sub in schema.get("properties", {}).items():
        found += [(f"{path}/{key}", sub), *_nodes(sub, f"{path}/{key}")]
    if isinstance(schema.get("items"), dict):
        found += [(f"{path}/[]", schema["items"]), *_nodes(schema["items"], f"{path}/[]")]
    return found


def _with(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(values)
    *parents, leaf = dotted.split(".")
    target = changed
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value
    return changed


def test_schema_uses_only_keywords_the_checker_understands() -> None:
    used: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        used.update(node)
        for key, sub in node.items():
            if key == "properties":
                for prop in sub.values():
                    walk(prop)
            elif key in {"items", "additionalProperties"} and isinstance(sub, dict):
                walk(sub)

    walk(_schema())
    assert used <= KEYWORDS, f"unchecked keywords: {sorted(used - KEYWORDS)}"
    assert _schema()["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_every_value_is_typed_and_described() -> None:
    schema = _schema()
    nodes = _nodes(schema)
    assert len(nodes) >= len(_values())  # at least one node per top-level value
    for path, node in nodes:
        assert node.get("type"), f"{path} has no type"
        names = [node["type"]] if isinstance(node["type"], str) else node["type"]
        assert set(names) <= set(PYTHON_TYPES), f"{path}: unknown type {names}"
        assert str(node.get("description", "")).strip(), f"{path} has no description"
        for key in node.get("required", []):
            assert key in node.get("properties", {}), f"{path}: required {key} is not a property"
        for allowed in node.get("enum", []):
            assert any(_has_type(allowed, n) for n in names), f"{path}: enum {allowed!r} mistyped"
        if "pattern" in node:
            re.compile(node["pattern"])


def _leaf_paths(values: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths of values.yaml keys, descending only where the schema names the sub-keys."""
    if not (isinstance(values, dict) and "properties" in schema):
        return [path]
    paths = [path] if path else []
    for key, item in values.items():
        paths += _leaf_paths(item, schema["properties"].get(key, {}), f"{path}/{key}")
    return paths


def test_values_yaml_and_schema_name_the_same_keys() -> None:
    schema = _schema()
    in_values = set(_leaf_paths(_values(), schema))
    in_schema = {path for path, _ in _nodes(schema) if "[]" not in path}
    assert in_values == in_schema


def test_default_values_meet_the_schema() -> None:
    assert violations(_schema(), _values()) == []


def test_chart_defaults_match_the_operator_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _values()
    assert values["engineImage"] == DEFAULT_ENGINE_IMAGE
    assert values["replicas"] == 1
    assert values["watchNamespaces"] == []
    for name in [n for n in os.environ if n.startswith("SLMFLEET_")]:
        monkeypatch.delenv(name)
    defaults = settings.__wrapped__()  # uncached: the environment without SLMFLEET_* variables
    assert values["resyncSeconds"] == defaults.resync_seconds
    assert values["autoscaleIntervalSeconds"] == defaults.autoscale_interval_seconds
    assert values["costWindowSeconds"] == defaults.cost_window_seconds
    assert values["costStatusSeconds"] == defaults.cost_status_seconds
    assert values["gpuclassResyncSeconds"] == defaults.gpuclass_resync_seconds
    assert values["prometheusUrl"] == "" and defaults.prometheus_url is None
    assert values["routerAllowedHosts"] == [] and defaults.router_allowed_hosts == ()


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("replicas", "x", "/replicas: expected integer, got str"),
        ("replicas", True, "/replicas: expected integer, got bool"),
        ("replicas", 6, "/replicas: 6 above maximum 5"),
        ("replicas", -1, "/replicas: -1 below minimum 0"),
        ("image.pullPolicy", "Sometimes", "/image/pullPolicy: 'Sometimes' not in enum"),
        ("image.repository", "", "/image/repository: shorter than minLength 1"),
        ("engineImage", "", "/engineImage: shorter than minLength 1"),
        ("runAsUser", 0, "/runAsUser: 0 below minimum 1"),
        ("gpuclassResyncSeconds", 0.5, "/gpuclassResyncSeconds: expected integer, got float"),
        ("watchNamespaces", ["Team_A"], "/watchNamespaces/0: 'Team_A' does not match pattern"),
        ("watchNamespaces", "team-a", "/watchNamespaces: expected array, got str"),
        ("huggingFace.cacheSizeLimit", "lots", "/huggingFace/cacheSizeLimit: 'lots' does not"),
        ("huggingFace.offline", "yes", "/huggingFace/offline: expected boolean, got str"),
        ("verbose", 1, "/verbose: expected boolean, got int"),
        ("nodeSelector", {"gpu": 1}, "/nodeSelector/gpu: expected string, got int"),
        ("imagePullSecrets", [{}], "/imagePullSecrets/0/name: required"),
        ("prometheusUrl", "prometheus:9090", "/prometheusUrl: 'prometheus:9090' does not match"),
        ("routerAllowedHosts", ["https://api.x"], "/routerAllowedHosts/0: 'https://api.x' does"),
        ("resyncSeconds", 0, "/resyncSeconds: 0 below minimum 1"),
        ("autoscaleIntervalSeconds", "10", "/autoscaleIntervalSeconds: expected integer"),
        ("prometheusScrapeSeconds", 0, "/prometheusScrapeSeconds: 0 below minimum 1"),
        ("routerImage", 1, "/routerImage: expected string, got int"),
        ("replica", 1, "/replica: additional property not allowed"),
        ("image.digest", "sha256:0", "/image/digest: additional property not allowed"),
    ],
)
def test_bad_values_are_rejected(key: str, value: Any, reason: str) -> None:
    errors = violations(_schema(), _with(_values(), key, value))
    assert len(errors) == 1, errors
    assert errors[0].startswith(reason)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("replicas", 0),
        ("image.tag", "0.1.0-rc.1"),
        ("watchNamespaces", ["team-a", "b2"]),
        ("huggingFace.cacheSizeLimit", "1.5Gi"),
        ("resources.limits.cpu", 2),
        ("resources.requests.cpu", "250m"),
        ("imagePullSecrets", [{"name": "registry"}]),
        ("prometheusUrl", "http://prometheus.monitoring:9090"),
        ("prometheusUrl", "https://prom.example/api/prom"),
        ("routerAllowedHosts", ["api.openai.com", "*.internal.example"]),
        ("routerImage", "registry.example/slmfleet:1.0"),
        ("tolerations", [{"key": "nvidia.com/gpu", "operator": "Exists"}]),
        ("serviceAccount.annotations", {"iam.example/role": "slmfleet"}),
    ],
)
def test_good_values_are_accepted(key: str, value: Any) -> None:
    assert violations(_schema(), _with(_values(), key, value)) == []
