"""Every case in tests/data/bad_inputs.yaml is refused by the models, by the right side.

"server" cases must fail model validation itself (what the CRD schema and CEL check) or the
transition check, and "operator" cases must pass model validation and fail only the
operator's own rules: so the models agree with the generated CRD on which side refuses.
Operator cases with a `reason` other than InvalidSpec parse, and are refused when the namespace's
routing is planned with the objects of their `setup` (a Secret without the router's label).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from slmfleet.api import GPUCLASS_KIND, SMALLMODEL_KIND, GPUClass, SmallModel, SpecError
from slmfleet.api.crdgen import object_schema
from slmfleet.api.crdschema import walk
from slmfleet.api.modelroute import MODELROUTE_KIND, ModelRoute, parse_modelroute
from slmfleet.api.parse import (
    check_gpuclass_update,
    check_smallmodel_update,
    parse_gpuclass,
    parse_smallmodel,
)
from slmfleet.reconcile.modelroute import plan_namespace

pytestmark = pytest.mark.unit

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "bad_inputs.yaml").read_text(encoding="utf-8")
)
PARSE: dict[str, Any] = {
    "GPUClass": parse_gpuclass,
    "SmallModel": parse_smallmodel,
    "ModelRoute": parse_modelroute,
}
MODEL: dict[str, type[GPUClass] | type[SmallModel] | type[ModelRoute]] = {
    "GPUClass": GPUClass,
    "SmallModel": SmallModel,
    "ModelRoute": ModelRoute,
}
KINDS = [GPUCLASS_KIND, SMALLMODEL_KIND, MODELROUTE_KIND]
PARSED = [c for c in CASES if c.get("reason", "InvalidSpec") == "InvalidSpec"]
PLANNED = [c for c in CASES if c.get("reason", "InvalidSpec") != "InvalidSpec"]
UPDATE = {"GPUClass": check_gpuclass_update, "SmallModel": check_smallmodel_update}


def refusal(case: dict[str, Any]) -> SpecError:
    parse = PARSE[case["kind"]]
    if "old_object" in case:
        old, new = parse(case["old_object"]), parse(case["object"])
        with pytest.raises(SpecError) as caught:
            UPDATE[case["kind"]](old, new)  # type: ignore[operator]
        return caught.value
    with pytest.raises(SpecError) as caught:
        parse(case["object"])
    return caught.value


def test_file_is_well_formed() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) >= 30
    assert len([c for c in CASES if c["kind"] == "ModelRoute"]) >= 25
    assert len(set(names)) == len(names)
    for case in CASES:
        assert case["expect"] in ("server", "operator"), case["name"]
        assert case["object"]["kind"] == case["kind"], case["name"]
        assert case["message_contains"], case["name"]


@pytest.mark.parametrize("case", PARSED, ids=[c["name"] for c in PARSED])
def test_case_is_refused_with_its_message(case: dict[str, Any]) -> None:
    error = refusal(case)
    assert case["message_contains"] in str(error)


@pytest.mark.parametrize("case", PLANNED, ids=[c["name"] for c in PLANNED])
def test_planned_case_stalls_with_its_reason_and_message(case: dict[str, Any]) -> None:
    assert case["expect"] == "operator" and case["kind"] == "ModelRoute"
    route = parse_modelroute(case["object"])
    secrets = {
        s["metadata"]["name"]: s["metadata"].get("labels") or {}
        for s in case.get("setup", [])
        if s["kind"] == "Secret"
    }
    plan = plan_namespace([route], [], {}, {}, secrets)
    verdict = plan.outcomes[route.metadata.name].verdict
    assert (verdict.stalled, verdict.reason) == (True, case["reason"])
    assert case["message_contains"] in verdict.message
    assert plan.config.routes == () and plan.secrets == ()


@pytest.mark.parametrize(
    "case", [c for c in CASES if "old_object" not in c], ids=lambda c: c["name"]
)
def test_case_is_refused_by_the_side_it_names(case: dict[str, Any]) -> None:
    model = MODEL[case["kind"]]
    if case["expect"] == "server":
        with pytest.raises(ValidationError):
            model.model_validate(case["object"])
    else:
        model.model_validate(case["object"])  # the API server would accept it


def _schema_paths(kind_schema: dict[str, Any], key: str) -> set[str]:
    return {path.lstrip(".") for path, node in walk(kind_schema) if key in node}


def _case_paths(kind: str) -> str:
    text = "\n".join(c["message_contains"] for c in CASES if c["kind"] == kind)
    return re.sub(r"\[\d+\]", "[*]", text)


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_every_spec_enum_has_a_case(info: Any) -> None:
    spec = object_schema(info)["properties"]["spec"]
    covered = _case_paths(info.kind)
    for path in _schema_paths(spec, "enum"):
        assert f"spec.{path}: Unsupported value" in covered, path


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_every_cel_rule_has_a_case(info: Any) -> None:
    spec = object_schema(info)["properties"]["spec"]
    wanted = [c["message_contains"] for c in CASES if c["kind"] == info.kind]
    for _, node in walk(spec):
        for rule in node.get("x-kubernetes-validations", []):
            assert any(
                rule["message"] in w or w.split(": ")[-1] in rule["message"] for w in wanted
            ), rule["message"]


@pytest.mark.parametrize("info", KINDS, ids=lambda i: i.kind)
def test_every_required_spec_field_has_a_case(info: Any) -> None:
    spec = object_schema(info)["properties"]["spec"]
    covered = _case_paths(info.kind)
    for path, node in walk(spec):
        for name in node.get("required", []):
            field = f"spec{path}.{name}"
            if "[*]" in field:
                continue  # list items: covered through the top-level objects
            assert f"{field}: Required value" in covered, field
