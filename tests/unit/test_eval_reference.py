"""One eval with its dataset and reference: cases from a ConfigMap, the reference found through a
SmallModel or a ModelRoute backend (under the route's Secret and host rules), the paired gate."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, cast

import pytest
from test_reconcile_smallmodel import model

from slmfleet.analysis.dataset import DatasetError, parse_jsonl
from slmfleet.api.evalsuite import EvalSuiteSpec
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.cache.view import FleetCache
from slmfleet.handlers.eval_run import run_eval

pytestmark = pytest.mark.unit

NS = "team"


def line(i: int, long: bool = False) -> str:
    prompt = ("long " * 50 if long else "") + f"case {i}"
    return json.dumps({"name": f"c{i}", "prompt": prompt, "expected": prompt})


def dataset(n: int, long: int) -> str:
    """``n`` echo cases of which the first ``long`` have prompts the canary refuses."""
    return "\n".join(line(i, i < long) for i in range(n))


def pod(ip: str, revision: str, model_name: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {REVISION_LABEL: revision, "model": model_name}},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


class Cache:
    def __init__(self, suite: dict[str, Any], routes: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        self.suite, self.routes = suite, list(routes)
        big = model().model_dump(by_alias=True, exclude_none=True)
        big["metadata"] = {"name": "big", "namespace": NS}
        big["status"] = {"templateHash": "b1"}
        self.models = {"big": big}

    def evalsuite(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.suite if name == "s" else None

    def smallmodel(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.models.get(name)

    def modelroutes(self, namespace: str) -> list[dict[str, Any]]:
        return self.routes

    def pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return {"big": [pod("10.0.9.1", "b1", "big")]}.get(name, [])


def suite_body(**spec: Any) -> dict[str, Any]:
    base = {"casesFrom": {"configMapKeyRef": {"name": "data", "key": "cases.jsonl"}}}
    return {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "EvalSuite",
        "metadata": {"name": "s", "namespace": NS},
        "spec": {"passThreshold": 0.5, **base, **spec},
    }


def echo_or_refuse(sent: list[tuple[str, Mapping[str, str]]]) -> Any:
    """Every side echoes; the canary (10.0.0.x) refuses long prompts like a short context."""

    def post(url: str, body: dict[str, Any], timeout: float, h: Mapping[str, str]) -> Any:
        sent.append((url, h))
        if "10.0.0." in url and body["prompt"].startswith("long"):
            raise OSError("HTTP 400: context length")
        return {"choices": [{"text": body["prompt"]}]}

    return post


def gets(objects: dict[tuple[str, str], dict[str, Any]]) -> Any:
    return lambda kind, name, namespace: objects.get((kind, name))


def evaluate(
    suite: dict[str, Any], n: int, long: int, routes: Any = (), objects: Any = None
) -> Any:
    sent: list[tuple[str, Mapping[str, str]]] = []
    found = {("ConfigMap", "data"): {"data": {"cases.jsonl": dataset(n, long)}}, **(objects or {})}
    cache = cast(FleetCache, Cache(suite, routes))
    result = run_eval(
        cache, model(), "s", ["10.0.0.1:8000"], [], get=gets(found), post=echo_or_refuse(sent)
    )
    return result, sent


REF = {"smallModelRef": {"name": "big"}}


@pytest.mark.parametrize(
    ("n", "long", "verdict"),
    [(1000, 10, "pass"), (1000, 50, "fail"), (20, 1, "inconclusive")],
)
def test_gate_against_a_reference_small_model(n: int, long: int, verdict: str) -> None:
    result, sent = evaluate(suite_body(reference=REF), n, long)
    assert result.verdict == verdict, result.message
    ref = result.reference
    assert ref.against == "big" and ref.cases == n and ref.score == 1.0
    assert ref.difference == pytest.approx(-long / n)
    assert ref.low < ref.difference < ref.high
    assert ref.lost == sorted(f"c{i}" for i in range(long))[:20] and not ref.gained
    assert sum(1 for url, _ in sent if "10.0.9.1" in url) == n  # every case went to both sides
    if verdict == "inconclusive":
        assert "20 paired cases cannot tell" in result.message


HOSTED = {
    "apiVersion": "slmfleet.io/v1alpha1",
    "kind": "ModelRoute",
    "metadata": {"name": "hosted", "namespace": NS},
    "spec": {
        "match": {"model": "assistant"},
        "backends": [
            {
                "name": "api",
                "url": "https://api.example.com/v1",
                "model": "gpt-big",
                "apiKeySecretRef": {"name": "api-key", "key": "token"},
            }
        ],
    },
}


def secret(labels: dict[str, str]) -> dict[str, Any]:
    token = base64.b64encode(b"sk-test\n").decode()
    return {"metadata": {"labels": labels}, "data": {"token": token}}


def test_a_hosted_backend_is_called_with_its_key_when_the_secret_allows_the_router() -> None:
    ref = {"modelRouteRef": {"name": "hosted", "backend": "api"}}
    allowed = {("Secret", "api-key"): secret({"slmfleet.io/usable-by": "router"})}
    result, sent = evaluate(suite_body(reference=ref), 1000, 10, [HOSTED], allowed)
    assert result.verdict == "pass" and result.reference.against == "hosted/api"
    hosted = [h for url, h in sent if url.startswith("https://api.example.com/v1/")]
    assert len(hosted) == 1000 and hosted[0] == {"Authorization": "Bearer sk-test"}


@pytest.mark.parametrize(
    ("objects", "why"),
    [
        ({("Secret", "api-key"): secret({})}, "is not labelled slmfleet.io/usable-by=router"),
        ({}, "Secret 'api-key' does not exist"),
    ],
)
def test_a_hosted_backend_the_route_may_not_use_is_never_called(
    objects: dict[tuple[str, str], Any], why: str
) -> None:
    ref = {"modelRouteRef": {"name": "hosted", "backend": "api"}}
    result, sent = evaluate(suite_body(reference=ref), 100, 0, [HOSTED], objects)
    assert result.verdict == "inconclusive" and why in result.message
    assert not sent  # not even the canary: the comparison the suite asks for cannot be made


def test_a_missing_dataset_or_reference_is_inconclusive_with_the_reason() -> None:
    result, _ = evaluate(suite_body(reference={"smallModelRef": {"name": "gone"}}), 10, 0)
    assert result.verdict == "inconclusive" and "SmallModel 'gone' does not exist" in result.message
    bad = suite_body(casesFrom={"configMapKeyRef": {"name": "data", "key": "other"}})
    result, _ = evaluate(bad, 10, 0)
    assert "has no key 'other'" in result.message


def test_a_stable_comparison_is_paired_and_gated_by_max_drop() -> None:
    sent: list[tuple[str, Mapping[str, str]]] = []
    cache = cast(FleetCache, Cache(suite_body(maxDropVsStable=0.02)))
    found = {("ConfigMap", "data"): {"data": {"cases.jsonl": dataset(1000, 50)}}}
    result = run_eval(
        cache, model(), "s", ["10.0.0.1:8000"], ["10.1.0.1:8000"], get=gets(found),
        post=echo_or_refuse(sent),
    )  # fmt: skip
    assert result.verdict == "fail" and result.stable.verdict == "fail"
    assert result.stable_score == 1.0 and result.score == pytest.approx(0.95)


def test_dataset_lines_are_validated_like_inline_cases() -> None:
    assert [c.name for c in parse_jsonl("# header\n\n" + dataset(3, 0))] == ["c0", "c1", "c2"]
    bad = line(0) + "\n{not json\n" + line(0) + '\n{"name": "x", "prompt": "p"}\n'
    with pytest.raises(DatasetError) as caught:
        parse_jsonl(bad)
    message = str(caught.value)
    assert "line 2: not JSON" in message
    assert "line 3: case name 'c0' is used twice" in message
    assert "line 4: " in message  # exact needs expected
    with pytest.raises(DatasetError, match="no cases"):
        parse_jsonl("\n# nothing\n")


JUDGED = [
    {"name": "plain", "prompt": "case 0", "expected": "case 0"},
    {"name": "kind", "prompt": "good: be kind", "checker": "judge", "rubric": "polite"},
    {"name": "rude", "prompt": "bad: be rude", "checker": "judge", "rubric": "polite"},
]


def grading(sent: list[dict[str, Any]]) -> Any:
    """Everyone echoes; the reference grades answers that contain 'good' PASS."""

    def post(url: str, body: dict[str, Any], timeout: float, h: Mapping[str, str]) -> Any:
        sent.append({"url": url, **body})
        messages = body.get("messages")
        if messages and messages[0]["role"] == "system":
            verdict = "PASS" if "Answer:\ngood" in messages[1]["content"] else "FAIL"
            return {"choices": [{"message": {"content": verdict}}]}
        return {"choices": [{"text": body["prompt"]}]}

    return post


@pytest.mark.parametrize(("threshold", "verdict"), [(None, "pass"), (0.9, "fail"), (0.5, "pass")])
def test_judge_cases_are_graded_by_the_reference_and_counted_apart(
    threshold: float | None, verdict: str
) -> None:
    reference = {**REF, "maxGap": 1.0}  # one plain case: only a gap of 100 points is provable
    body = suite_body(cases=JUDGED, reference=reference, judgePassThreshold=threshold)
    body["spec"].pop("casesFrom")
    sent: list[dict[str, Any]] = []
    result = run_eval(cast(FleetCache, Cache(body)), model(), "s", ["10.0.0.1:8000"], [],
                      get=gets({}), post=grading(sent))  # fmt: skip
    assert (result.cases, result.judged, result.judge_score) == (1, 2, 0.5)
    assert result.score == 1.0 and result.reference.cases == 1  # judge cases are not paired
    assert result.verdict == verdict
    graders = [s for s in sent if s.get("messages") and s["messages"][0]["role"] == "system"]
    assert len(graders) == 2 and all("10.0.9.1" in s["url"] for s in graders)  # the reference
    # the reference answered the plain case only: judge cases are the canary's
    assert sum(1 for s in sent if "10.0.9.1" in s["url"] and "prompt" in s) == 1


def test_judge_cases_need_a_reference() -> None:
    with pytest.raises(ValueError, match="judge cases need a reference"):
        EvalSuiteSpec.model_validate({"cases": JUDGED})
    with pytest.raises(ValueError, match="judge needs rubric"):
        EvalSuiteSpec.model_validate(
            {"cases": [{"name": "j", "prompt": "p", "checker": "judge"}], "reference": REF}
        )


def test_an_ungraded_judge_case_makes_a_gated_suite_inconclusive() -> None:
    def no_grades(url: str, body: dict[str, Any], timeout: float, h: Mapping[str, str]) -> Any:
        if body.get("messages"):
            raise OSError("judge down")
        return {"choices": [{"text": body["prompt"]}]}

    reference = {**REF, "maxGap": 1.0}
    body = suite_body(cases=JUDGED, reference=reference, judgePassThreshold=0.5)
    body["spec"].pop("casesFrom")
    result = run_eval(cast(FleetCache, Cache(body)), model(), "s", ["10.0.0.1:8000"], [],
                      get=gets({}), post=no_grades)  # fmt: skip
    assert result.judge_score is None and result.verdict == "inconclusive"
    assert "not every judge case was graded" in result.message
