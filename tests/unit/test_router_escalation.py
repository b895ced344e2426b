"""Cascade checks: should_escalate, mean_logprob, answer_text and the JSON Schema check."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from slmfleet.router.config import CascadePolicy
from slmfleet.router.escalation import (
    EscalationReason,
    answer_text,
    mean_logprob,
    should_escalate,
)
from slmfleet.router.schema_check import _compiled, schema_errors

pytestmark = pytest.mark.unit

ERROR = EscalationReason.ERROR
LENGTH = EscalationReason.LENGTH
INVALID = EscalationReason.INVALID
UNCERTAIN = EscalationReason.UNCERTAIN

LABEL_SCHEMA = {
    "type": "object",
    "required": ["label"],
    "properties": {"label": {"enum": ["bug", "billing"]}},
}

ONE_OF = {"oneOf": [{"type": "integer"}, {"enum": [1, 2, 3]}]}
DATE_TIME = {"type": "string", "format": "date-time"}
WITH_REF = {
    "$defs": {"count": {"type": "integer", "minimum": 0}},
    "properties": {"a": {"$ref": "#/$defs/count"}},
}


def _policy(**fields: Any) -> CascadePolicy:
    return CascadePolicy.model_validate({"tiers": ["small", "large"], **fields})


def _chat(
    content: str, finish: str = "stop", logprobs: list[float] | None = None
) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish,
    }
    if logprobs is not None:
        choice["logprobs"] = {"content": [{"token": "t", "logprob": v} for v in logprobs]}
    return {"object": "chat.completion", "choices": [choice]}


def _text(text: str, token_logprobs: list[float | None]) -> dict[str, Any]:
    choice = {"text": text, "finish_reason": "stop", "logprobs": {"token_logprobs": token_logprobs}}
    return {"object": "text_completion", "choices": [choice]}


@pytest.mark.parametrize(
    ("response", "policy", "expected"),
    [
        (None, _policy(), (True, ERROR)),
        ({"error": {"message": "overloaded"}}, _policy(), (True, ERROR)),
        ({"choices": []}, _policy(), (True, ERROR)),
        ({"choices": ["not an object"]}, _policy(), (True, ERROR)),
        (None, _policy(escalateOnError=False), (False, None)),
        (_chat("fine", finish="length"), _policy(), (True, LENGTH)),
        (_chat("fine", finish="length"), _policy(escalateOnLength=False), (False, None)),
        (_chat("yes"), _policy(regex="yes|no"), (False, None)),
        (_chat(" no \n"), _policy(regex="yes|no"), (False, None)),  # surrounding space stripped
        (_chat("maybe"), _policy(regex="yes|no"), (True, INVALID)),
        (_chat("yes!"), _policy(regex="yes|no"), (True, INVALID)),  # must match in full
        (_chat('{"label": "bug"}'), _policy(jsonSchema=LABEL_SCHEMA), (False, None)),
        (_chat('{"label": "spam"}'), _policy(jsonSchema=LABEL_SCHEMA), (True, INVALID)),
        (_chat("{}"), _policy(jsonSchema=LABEL_SCHEMA), (True, INVALID)),
        (_chat("label: bug"), _policy(jsonSchema=LABEL_SCHEMA), (True, INVALID)),
        # keywords beyond type/enum/required apply too
        (_chat('"AB-12"'), _policy(jsonSchema={"pattern": "^[A-Z]{2}-[0-9]+$"}), (False, None)),
        (_chat('"ab-12"'), _policy(jsonSchema={"pattern": "^[A-Z]{2}-[0-9]+$"}), (True, INVALID)),
        (_chat('""'), _policy(jsonSchema={"minLength": 1}), (True, INVALID)),
        (_chat("3"), _policy(jsonSchema=ONE_OF), (True, INVALID)),  # matches both branches
        (_chat("4"), _policy(jsonSchema=ONE_OF), (False, None)),
        (_chat('"2026-02-30"'), _policy(jsonSchema={"format": "date"}), (True, INVALID)),
        (_chat('"2026-03-01T12:00:00Z"'), _policy(jsonSchema=DATE_TIME), (False, None)),
        (_chat('"yesterday"'), _policy(jsonSchema=DATE_TIME), (True, INVALID)),
        (_chat('{"a": -1}'), _policy(jsonSchema=WITH_REF), (True, INVALID)),
        (_chat('{"a": 1}'), _policy(jsonSchema=WITH_REF), (False, None)),
        # a reference to another document never resolves (nothing is fetched): the answer fails
        (_chat("1"), _policy(jsonSchema={"$ref": "https://example.com/s.json"}), (True, INVALID)),
        # mean of -0.5, -1.0, -2.1 is -3.6 / 3 = -1.2, below -1.0
        (_chat("x", logprobs=[-0.5, -1.0, -2.1]), _policy(minMeanLogprob=-1.0), (True, UNCERTAIN)),
        # mean of -0.5, -1.0, -1.5 is exactly -1.0: not below
        (_chat("x", logprobs=[-0.5, -1.0, -1.5]), _policy(minMeanLogprob=-1.0), (False, None)),
        (_chat("x"), _policy(minMeanLogprob=-1.0), (False, None)),  # no logprobs: not judged
        # completions: None (first token) skipped, mean of -3 and -1 is -2 < -1.5
        (_text("x", [None, -3.0, -1.0]), _policy(minMeanLogprob=-1.5), (True, UNCERTAIN)),
        (_text("x", [-1.0, -1.0]), _policy(minMeanLogprob=-1.5), (False, None)),
        # order of checks: length before invalid before uncertain
        (_chat("maybe", finish="length"), _policy(regex="yes"), (True, LENGTH)),
        (
            _chat("maybe", logprobs=[-9.0]),
            _policy(regex="yes", minMeanLogprob=-1.0),
            (True, INVALID),
        ),
        (_chat("anything"), _policy(), (False, None)),
    ],
)
def test_should_escalate(
    response: dict[str, Any] | None,
    policy: CascadePolicy,
    expected: tuple[bool, EscalationReason | None],
) -> None:
    assert should_escalate(response, policy) == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (
            {"logprobs": {"content": [{"logprob": -1.0}, {"logprob": None}, {"logprob": -3.0}]}},
            -2.0,
        ),
        ({"logprobs": {"content": [{"logprob": -0.25}] * 4}}, -0.25),
        ({"logprobs": {"token_logprobs": [None, -0.5, -1.5]}}, -1.0),
        ({"logprobs": {"token_logprobs": [-2, True]}}, -2.0),  # booleans are not numbers
        ({"logprobs": {"content": []}}, None),
        ({"logprobs": None}, None),
        ({}, None),
    ],
)
def test_mean_logprob(choice: dict[str, Any], expected: float | None) -> None:
    result = mean_logprob(choice)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"message": {"content": "hi"}}, "hi"),
        ({"message": {"content": None}}, ""),
        ({"text": "done"}, "done"),
        ({}, ""),
    ],
)
def test_answer_text(choice: dict[str, Any], expected: str) -> None:
    assert answer_text(choice) == expected


ITEM_SCHEMA = {
    "type": "object",
    "required": ["id", "tags"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "score": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "kind": {"const": "ticket"},
    },
}


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ({"id": 1, "tags": ["a"]}, []),
        ({"id": 1.0, "tags": ["a"], "score": None, "kind": "ticket"}, []),  # 1.0 is an integer
        ({"id": 1, "tags": ["a", "b"], "score": 0.5}, []),
        ({"tags": ["a"]}, ["$: 'id' is a required property"]),
        ({"id": "1", "tags": ["a"]}, ["$.id: '1' is not of type 'integer'"]),
        ({"id": True, "tags": ["a"]}, ["$.id: True is not of type 'integer'"]),  # not an int
        ({"id": 1.5, "tags": ["a"]}, ["$.id: 1.5 is not of type 'integer'"]),
        ({"id": 1, "tags": []}, ["$.tags: [] should be non-empty"]),
        ({"id": 1, "tags": ["a", "b", "c"]}, ["$.tags: ['a', 'b', 'c'] is too long"]),
        ({"id": 1, "tags": ["a", 2]}, ["$.tags[1]: 2 is not of type 'string'"]),
        (
            {"id": 1, "tags": ["a"], "x": 0},
            ["$: Additional properties are not allowed ('x' was unexpected)"],
        ),
        (
            {"id": 1, "tags": ["a"], "score": "high"},
            ["$.score: 'high' is not of type 'number', 'null'"],
        ),
        ({"id": 1, "tags": ["a"], "kind": "bug"}, ["$.kind: 'ticket' was expected"]),
        ([], ["$: [] is not of type 'object'"]),
        (
            {"id": None},
            ["$: 'tags' is a required property", "$.id: None is not of type 'integer'"],
        ),
    ],
)
def test_schema_errors(value: Any, errors: list[str]) -> None:
    assert schema_errors(value, ITEM_SCHEMA) == errors


@pytest.mark.parametrize(
    ("value", "ok"),
    [("bug", True), ("spam", False), (1, True), (True, False), (1.0, True), (None, False)],
)
def test_enum_compares_as_json(value: Any, ok: bool) -> None:
    # 1 == 1.0 in JSON, but true is not 1.
    assert (schema_errors(value, {"enum": ["bug", 1]}) == []) is ok


def test_policy_compiles_its_schema_once() -> None:
    policy = _policy(jsonSchema=LABEL_SCHEMA)
    assert policy.answer_check is policy.answer_check
    before = _compiled.cache_info()
    for _ in range(3):
        assert should_escalate(_chat('{"label": "bug"}'), policy) == (False, None)
    after = _compiled.cache_info()
    assert (after.misses, after.hits) == (before.misses, before.hits)


def test_policy_refuses_an_invalid_schema() -> None:
    with pytest.raises(ValidationError, match=r"jsonSchema is not a valid JSON Schema: \$.type"):
        _policy(jsonSchema={"type": "objekt"})
