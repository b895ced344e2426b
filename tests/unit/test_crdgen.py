"""The generated CRDs: structural schemas, CEL rules, columns, subresources and --check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api import GPUCLASS_KIND, SMALLMODEL_KIND
from slmfleet.api.crdgen import HEADER, crd, crd_filename, main, render, render_all
from slmfleet.api.crdgen import KINDS as ALL_KINDS
from slmfleet.api.crdmeta import KindInfo
from slmfleet.api.crdschema import _convert, walk

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]
KINDS = [GPUCLASS_KIND, SMALLMODEL_KIND]
ALLOWED_KEYS = {
    "type", "description", "properties", "required", "items", "additionalProperties",
    "enum", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "format", "anyOf",
    "x-kubernetes-validations", "x-kubernetes-int-or-string", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-preserve-unknown-fields",
}  # fmt: skip


def schema_of(info: KindInfo) -> dict[str, Any]:
    version = crd(info)["spec"]["versions"][0]
    return dict(version["schema"]["openAPIV3Schema"])


def node_at(info: KindInfo, path: str) -> dict[str, Any]:
    return dict(next(node for p, node in walk(schema_of(info)) if p == path))


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_schema_is_structural(info: KindInfo) -> None:
    for path, node in walk(schema_of(info)):
        assert set(node) <= ALLOWED_KEYS, (path, set(node) - ALLOWED_KEYS)
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
            continue
        if "|" in path:  # the int-or-string alternatives themselves
            continue
        assert "anyOf" not in node, path
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}
        if "properties" in node or "additionalProperties" in node:
            assert node["type"] == "object", path
        if "items" in node:
            assert node["type"] == "array", path
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(key, True) is True, path
        for name in node.get("required", []):
            assert name in node["properties"], (path, name)


@pytest.mark.parametrize(
    ("info", "path", "needle"),
    [
        (GPUCLASS_KIND, ".spec.product", "self == oldSelf"),
        (GPUCLASS_KIND, ".spec", "self.gpusPerReplica == 1"),
        (GPUCLASS_KIND, ".spec.tolerations[*]", "tolerationSeconds"),
        (SMALLMODEL_KIND, ".spec", "self.minReplicas <= self.maxReplicas"),
        (SMALLMODEL_KIND, ".spec", "oldSelf.servedModelName"),
        (SMALLMODEL_KIND, ".spec.source", "has(self.huggingFace) != has(self.pvc)"),
        (SMALLMODEL_KIND, ".spec.source.huggingFace.revision", "refs/heads/"),
        (SMALLMODEL_KIND, ".spec.source.pvc.path", "/../"),
        (SMALLMODEL_KIND, ".spec.engine.extraArgs", "-(?:tp|q)"),
        (SMALLMODEL_KIND, ".spec.engine.env[*]", "has(self.valueFrom)"),
        (SMALLMODEL_KIND, ".spec.loraAdapters", "exists_one"),
        (SMALLMODEL_KIND, ".spec.loraAdapters[*].source", "has(self.pvc)"),
    ],
)
def test_cel_rules_land_where_they_belong(info: KindInfo, path: str, needle: str) -> None:
    rules = node_at(info, path)["x-kubernetes-validations"]
    assert any(needle in r["rule"] and r["message"] for r in rules)


def test_rule_with_field_path_keeps_it() -> None:
    rules = node_at(SMALLMODEL_KIND, ".spec")["x-kubernetes-validations"]
    assert [r.get("fieldPath") for r in rules if "oldSelf" in r["rule"]] == [".servedModelName"]


@pytest.mark.parametrize(
    ("info", "path", "default"),
    [
        (GPUCLASS_KIND, ".spec.resourceName", "nvidia.com/gpu"),
        (GPUCLASS_KIND, ".spec.gpusPerReplica", 1),
        (SMALLMODEL_KIND, ".spec.quantization", "none"),
        (SMALLMODEL_KIND, ".spec.dtype", "auto"),
        (SMALLMODEL_KIND, ".spec.kvCacheDtype", "auto"),
        (SMALLMODEL_KIND, ".spec.maxNumSeqs", 16),
        (SMALLMODEL_KIND, ".spec.minReplicas", 1),
        (SMALLMODEL_KIND, ".spec.maxReplicas", 1),
        (SMALLMODEL_KIND, ".spec.paused", False),
        (SMALLMODEL_KIND, ".spec.rollout.strategy", "canary"),
        (SMALLMODEL_KIND, ".spec.source.huggingFace.tokenSecretRef.key", "HF_TOKEN"),
    ],
)
def test_defaults(info: KindInfo, path: str, default: object) -> None:
    assert node_at(info, path)["default"] == default


def test_optional_fields_have_no_null_default_and_are_not_required() -> None:
    spec = node_at(SMALLMODEL_KIND, ".spec")
    assert spec["required"] == ["source", "gpuClassName"]
    for name in ("maxModelLen", "tensorParallelSize", "gpuMemoryUtilization", "replicas"):
        assert "default" not in spec["properties"][name]
    assert node_at(SMALLMODEL_KIND, ".spec.tensorParallelSize")["enum"] == [1, 2, 4, 8]


@pytest.mark.parametrize(
    ("info", "columns"),
    [
        (
            GPUCLASS_KIND,
            [
                ("PRODUCT", ".spec.product", 0),
                ("MEMORY", ".spec.memoryGiB", 0),
                ("GPUS", ".spec.gpusPerReplica", 0),
                ("PRICE", ".spec.pricePerGPUHour", 0),
                ("AGE", ".metadata.creationTimestamp", 0),
                ("RESOURCE", ".spec.resourceName", 1),
                ("NODES", ".status.matchingNodes", 1),
            ],
        ),
        (
            SMALLMODEL_KIND,
            [
                ("READY", ".status.readyReplicas", 0),
                ("REPLICAS", ".status.replicas", 0),
                ("GPU CLASS", ".spec.gpuClassName", 0),
                ("FITS", ".status.plan.fits", 0),
                ("PHASE", ".status.phase", 0),
                ("$/1M TOK", ".status.cost.window.costPer1MTokens", 0),
                ("CACHE", ".status.cache.progress", 0),
                ("AGE", ".metadata.creationTimestamp", 0),
                ("SERVED NAME", ".status.servedModelName", 1),
                ("QUANTIZATION", ".spec.quantization", 1),
            ],
        ),
    ],
)
def test_printer_columns(info: KindInfo, columns: list[tuple[str, str, int]]) -> None:
    got = crd(info)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["jsonPath"], c.get("priority", 0)) for c in got] == columns
    for column in got:  # each column's path exists in the schema with the column's type
        if column["jsonPath"].startswith(".metadata"):
            continue
        node = node_at(info, column["jsonPath"])
        assert node["type"] == column["type"], column["name"]


@pytest.mark.parametrize(
    ("info", "scope", "short", "scale"),
    [
        (GPUCLASS_KIND, "Cluster", ["gc"], None),
        (
            SMALLMODEL_KIND,
            "Namespaced",
            ["sm"],
            {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        ),
    ],
)
def test_names_scope_and_subresources(
    info: KindInfo, scope: str, short: list[str], scale: dict[str, str] | None
) -> None:
    spec = crd(info)["spec"]
    assert (spec["group"], spec["scope"]) == ("slmfleet.io", scope)
    assert spec["names"]["shortNames"] == short
    assert spec["names"]["categories"] == ["slmfleet"]
    assert spec["names"]["listKind"] == f"{info.kind}List"
    subresources = spec["versions"][0]["subresources"]
    assert subresources["status"] == {}
    assert subresources.get("scale") == scale
    if scale:  # the scale paths point at integer/string fields of the schema
        assert node_at(info, scale["specReplicasPath"])["type"] == "integer"
        assert node_at(info, scale["statusReplicasPath"])["type"] == "integer"
        assert node_at(info, scale["labelSelectorPath"])["type"] == "string"


def test_conditions_merge_by_type() -> None:
    node = node_at(SMALLMODEL_KIND, ".status.conditions")
    assert node["x-kubernetes-list-type"] == "map"
    assert node["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in node["items"]["required"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None,
             "title": "X", "description": "d"},
            {"type": "integer", "minimum": 1, "description": "d"},
        ),
        (
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        ),
        ({"type": "string", "const": "a"}, {"type": "string", "enum": ["a"]}),
        (
            {"type": "object", "additionalProperties": False, "properties": {}},
            {"type": "object", "properties": {}},
        ),
        (
            {"type": "object", "additionalProperties": True},
            {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        ),
        (
            {"$ref": "#/$defs/A", "description": "field words",
             "x-kubernetes-validations": [{"rule": "f", "message": "m1"}]},
            {"type": "object", "description": "field words",
             "x-kubernetes-validations": [{"rule": "c", "message": "m0"},
                                          {"rule": "f", "message": "m1"}]},
        ),
    ],
)  # fmt: skip
def test_conversion_rules(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    defs = {
        "A": {
            "type": "object",
            "title": "A",
            "description": "class words",
            "x-kubernetes-validations": [{"rule": "c", "message": "m0"}],
        }
    }
    assert _convert(raw, defs) == expected


def test_rendering_is_deterministic_and_parses_back() -> None:
    for info in KINDS:
        text = render(info)
        assert text == render(info)
        assert text.startswith(HEADER)
        assert yaml.safe_load(text) == crd(info)


def test_committed_crds_are_up_to_date() -> None:
    assert main(["--out", str(REPO / "crds"), "--check"]) == 0


def test_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--check"]) == 1  # nothing written yet
    assert main(["--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(crd_filename(i) for i in ALL_KINDS)
    assert names == [
        "slmfleet.io_evalsuites.yaml",
        "slmfleet.io_gpuclasses.yaml",
        "slmfleet.io_modelroutes.yaml",
        "slmfleet.io_smallmodels.yaml",
    ]
    assert main(["--out", str(tmp_path), "--check"]) == 0

    (tmp_path / "notes.yaml").write_text("hand-written: true\n")  # not ours: ignored
    assert main(["--out", str(tmp_path), "--check"]) == 0

    edited = tmp_path / "slmfleet.io_smallmodels.yaml"
    edited.write_text(edited.read_text().replace("maximum: 4096", "maximum: 9999"))
    stale = tmp_path / "slmfleet.io_oldkinds.yaml"
    stale.write_text(HEADER + "---\n{}\n")
    capsys.readouterr()
    assert main(["--out", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "slmfleet.io_smallmodels.yaml" in err and "slmfleet.io_oldkinds.yaml" in err
    assert "slmfleet.io_gpuclasses.yaml" not in err

    assert main(["--out", str(tmp_path)]) == 0  # rewrite repairs and removes stale files
    assert not stale.exists()
    assert (tmp_path / "notes.yaml").exists()
    assert main(["--out", str(tmp_path), "--check"]) == 0
    assert render_all()[edited.name] == edited.read_text()
