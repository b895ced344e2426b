"""Eval checkers and the eval runner over a fake OpenAI endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from slmfleet.analysis.checkers import passes
from slmfleet.analysis.evalrunner import EvalRun, Target, run_suite
from slmfleet.api.errors import SpecError
from slmfleet.api.evalsuite import EvalCase, EvalSuiteSpec, parse_evalsuite

pytestmark = pytest.mark.unit


def case(checker: str, **kw: Any) -> EvalCase:
    return EvalCase.model_validate({"name": "c", "prompt": "p", "checker": checker, **kw})


SCHEMA = {"type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}}


@pytest.mark.parametrize("pattern", ["(", r"(a)\1", "(?=a)", "a{2000}"])
def test_a_regex_re2_refuses_is_a_validation_error_naming_expected(pattern: str) -> None:
    with pytest.raises(ValueError, match="expected: regex is not valid RE2 syntax"):
        case("regex", expected=pattern)


@pytest.mark.parametrize(
    ("c", "answer", "want"),
    [
        (case("exact", expected="Paris"), " Paris\n", True),
        (case("exact", expected="Paris"), "Paris, France", False),
        (case("contains", expected="Paris"), "It is Paris.", True),
        (case("contains", expected="Paris"), "It is Lyon.", False),
        (case("regex", expected=r"^\d{4}$"), "2026", True),
        (case("regex", expected=r"^\d{4}$"), "year 2026", False),
        # A pattern that slipped past validation never passes.
        (case("regex", expected="x").model_copy(update={"expected": "("}), "anything", False),
        (case("regex", expected=r"(a+)+$"), "a" * 40 + "b", False),  # RE2: linear, no blow-up
        (case("one-of", oneOf=["positive", "negative"]), "Positive.", True),
        (case("one-of", oneOf=["positive", "negative"]), "neutral", False),
        (case("json-schema", jsonSchema=SCHEMA), '{"label": "spam"}', True),
        (case("json-schema", jsonSchema=SCHEMA), '{"score": 1}', False),
        (case("json-schema", jsonSchema=SCHEMA), "not json", False),
        (case("json-schema", jsonSchema={"type": "string", "maxLength": 3}), '"abcd"', False),
        (case("json-schema", jsonSchema={"not": {"const": 0}}), "0", False),
        (case("json-schema", jsonSchema={"format": "ipv4"}), '"10.0.0.1"', True),
        (case("json-schema", jsonSchema={"format": "ipv4"}), '"10.0.0.300"', False),
    ],
)
def test_checker(c: EvalCase, answer: str, want: bool) -> None:
    assert passes(c, answer) is want


@pytest.mark.parametrize(
    "body",
    [
        {"name": "c", "checker": "exact", "expected": "x"},  # neither prompt nor messages
        {"name": "c", "prompt": "p", "messages": [{"role": "user", "content": "p"}],
         "expected": "x"},  # both
        {"name": "c", "prompt": "p", "checker": "one-of"},  # no oneOf
        {"name": "c", "prompt": "p", "checker": "json-schema"},  # no jsonSchema
    ],
)  # fmt: skip
def test_bad_cases_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EvalCase.model_validate(body)


def test_invalid_json_schema_is_a_spec_error_naming_the_field() -> None:
    bad = {"name": "c", "prompt": "p", "checker": "json-schema", "jsonSchema": {"minLength": -1}}
    body = {"apiVersion": "slmfleet.io/v1alpha1", "kind": "EvalSuite", "metadata": {"name": "s"},
            "spec": {"cases": [bad]}}  # fmt: skip
    with pytest.raises(SpecError) as caught:
        parse_evalsuite(body)
    assert caught.value.errors == (
        'spec.cases[0].jsonSchema: Invalid value: "object": not a valid JSON Schema: '
        "$.minLength: -1 is less than the minimum of 0",
    )


def suite() -> EvalSuiteSpec:
    return EvalSuiteSpec.model_validate(
        {
            "passThreshold": 0.5,
            "cases": [
                {"name": "echo-1", "prompt": "hello world", "expected": "hello world"},
                {"name": "echo-2", "prompt": "two", "expected": "two"},
                {
                    "name": "chat",
                    "messages": [{"role": "user", "content": "ping"}],
                    "expected": "ping",
                },
                {"name": "down", "prompt": "x", "expected": "x"},
            ],
        }
    )


def fake_post(
    url: str, body: dict[str, Any], timeout: float, headers: Mapping[str, str]
) -> dict[str, Any]:
    """An echo server on 10.0.0.1, a dead pod on 10.0.0.2."""
    if "10.0.0.2" in url:
        raise OSError("connection refused")
    if url.endswith("/chat/completions"):
        return {"choices": [{"message": {"content": body["messages"][-1]["content"]}}]}
    return {"choices": [{"text": body["prompt"]}]}


def run(endpoints: list[str], **kw: Any) -> EvalRun:
    cases = suite().cases or []
    return run_suite(cases, Target.pods(endpoints, "m"), 30.0, kw.pop("post", fake_post), **kw)


def test_runner_scores_and_names_failed_cases() -> None:
    # round robin over 2 endpoints: cases 0 and 2 hit the echo pod, 1 and 3 the dead one
    result = run(["10.0.0.1:8000", "10.0.0.2:8000"])
    assert result.answered == 2
    assert result.score == pytest.approx(2 / 4)
    assert result.failed_cases == ("echo-2", "down")
    assert result.results == {"echo-1": True, "echo-2": None, "chat": True, "down": None}


def test_runner_all_echo_passes_and_no_endpoint_is_inconclusive() -> None:
    assert run(["10.0.0.1:8000"]).score == 1.0
    assert run([]).score is None
    assert run(["10.0.0.2:8000"]).score is None


def test_runner_keeps_at_most_concurrency_requests_in_flight() -> None:
    lock, state = threading.Lock(), {"now": 0, "most": 0}
    gate = threading.Barrier(2, timeout=10)

    def counting(url: str, body: dict[str, Any], timeout: float, h: Mapping[str, str]) -> Any:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        gate.wait()  # two requests must be in flight together, or this never returns
        with lock:
            state["now"] -= 1
        return fake_post(url, body, timeout, h)

    assert run(["10.0.0.1:8000"], post=counting, concurrency=2).score == 1.0
    assert state["most"] == 2


def test_runner_sends_nothing_past_the_deadline_and_the_run_is_inconclusive() -> None:
    result = run(["10.0.0.1:8000"], deadline=time.monotonic() - 1)
    assert result.sent == 0 and not result.complete and result.score is None


def test_runner_sends_the_target_headers_and_model() -> None:
    seen: list[tuple[str, str, Mapping[str, str]]] = []

    def record(url: str, body: dict[str, Any], timeout: float, h: Mapping[str, str]) -> Any:
        seen.append((url, body["model"], h))
        return fake_post(url, body, timeout, h)

    hosted = Target(("https://api.example.com",), "big", {"Authorization": "Bearer k"})
    run_suite(suite().cases or [], hosted, 5.0, record)
    assert ("https://api.example.com/v1/completions", "big", {"Authorization": "Bearer k"}) in seen


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({}, "exactly one of cases or casesFrom"),
        (
            {
                "cases": [{"name": "c", "prompt": "p", "expected": "p"}],
                "casesFrom": {"configMapKeyRef": {"name": "d", "key": "cases.jsonl"}},
            },
            "exactly one of cases or casesFrom",
        ),
        (
            {
                "casesFrom": {"configMapKeyRef": {"name": "d", "key": "k"}},
                "reference": {"maxGap": 0.02},
            },
            "exactly one of smallModelRef or modelRouteRef",
        ),
    ],
)
def test_suite_sources_and_reference_are_exclusive(spec: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        EvalSuiteSpec.model_validate(spec)


def test_a_dataset_suite_with_a_reference_takes_the_defaults() -> None:
    spec = EvalSuiteSpec.model_validate(
        {
            "casesFrom": {"configMapKeyRef": {"name": "d", "key": "cases.jsonl"}},
            "reference": {"modelRouteRef": {"name": "hosted", "backend": "api"}},
        }
    )
    assert spec.reference is not None and spec.reference.max_gap == 0.02
    assert (spec.confidence, spec.concurrency, spec.deadline_seconds) == (0.95, 16, 120)
