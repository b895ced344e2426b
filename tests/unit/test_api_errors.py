"""Error wording: paths, Go-style values and the lines a SpecError lists."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api import SpecError, parse_smallmodel
from slmfleet.api.errors import field_path, go_value, json_type

pytestmark = pytest.mark.unit

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        ((), "<root>"),
        (("spec",), "spec"),
        (("spec", "source", "huggingFace", "repo"), "spec.source.huggingFace.repo"),
        (("spec", "loraAdapters", 3, "name"), "spec.loraAdapters[3].name"),
        (("spec", "engine", "env", 0), "spec.engine.env[0]"),
    ],
)
def test_field_path(loc: tuple[int | str, ...], expected: str) -> None:
    assert field_path(loc) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Go's %v for float64 switches to exponent form at 1e6 and below 1e-4.
        (0.05, "0.05"),
        (1.5, "1.5"),
        (22.5, "22.5"),
        (-3.25, "-3.25"),
        (100.0, "100"),
        (999999.0, "999999"),
        (1e6, "1e+06"),
        (2000000.0, "2e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.0, "0"),
        (3, "3"),
        (True, "true"),
        ("int4", '"int4"'),
        ('say "hi"', '"say \\"hi\\""'),
        ([1, 2], '"array"'),
    ],
)
def test_go_value(value: Any, expected: str) -> None:
    assert go_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "integer"),
        (1.0, "number"),
        ("", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_json_type(value: Any, expected: str) -> None:
    assert json_type(value) == expected


def body(**spec: Any) -> dict[str, Any]:
    base = {
        "source": {"huggingFace": {"repo": "Qwen/Qwen3-0.6B", "revision": SHA}},
        "gpuClassName": "t4",
    }
    return {"kind": "SmallModel", "metadata": {"name": "m"}, "spec": {**base, **spec}}


def test_every_problem_is_listed_once() -> None:
    with pytest.raises(SpecError) as caught:
        parse_smallmodel(body(quantization="int4", maxNumSeqs=0, paused="no", foo=1))
    assert sorted(caught.value.errors) == sorted(
        [
            'spec.quantization: Unsupported value: "int4": supported values: "none", "awq", '
            '"gptq", "fp8", "compressed-tensors", "bitsandbytes", "gguf"',
            "spec.maxNumSeqs: Invalid value: 0: spec.maxNumSeqs in body should be greater "
            "than or equal to 1",
            'spec.paused: Invalid value: "string": spec.paused in body must be of type boolean: '
            '"string"',
            'spec.foo: unknown field "spec.foo"',
        ]
    )
    assert str(caught.value) == "\n".join(caught.value.errors)


def test_failed_object_rules_each_get_a_line() -> None:
    with pytest.raises(SpecError) as caught:
        parse_smallmodel(body(minReplicas=3, maxReplicas=2, replicas=7))
    assert caught.value.errors == (
        'spec: Invalid value: "object": minReplicas must be less than or equal to maxReplicas',
        'spec: Invalid value: "object": replicas must lie between minReplicas and maxReplicas',
    )


def test_integer_enums_are_listed_as_strings_like_the_server() -> None:
    with pytest.raises(SpecError) as caught:
        parse_smallmodel(body(maxLoraRank=12))
    assert caught.value.errors == (
        'spec.maxLoraRank: Unsupported value: 12: supported values: "8", "16", "32", "64", '
        '"128", "256"',
    )


def test_null_fields_are_pruned_like_the_api_server_does() -> None:
    model = parse_smallmodel(body(dtype=None, maxModelLen=None))
    assert (model.spec.dtype, model.spec.max_model_len) == ("auto", None)


@pytest.mark.parametrize(
    ("given", "lines"),
    [("spec: one problem", ("spec: one problem",)), (["a: x", "b: y"], ("a: x", "b: y"))],
)
def test_spec_error_takes_a_message_or_a_list(
    given: str | list[str], lines: tuple[str, ...]
) -> None:
    error = SpecError(given)
    assert error.errors == lines
    assert error.message == str(error) == "\n".join(lines)
