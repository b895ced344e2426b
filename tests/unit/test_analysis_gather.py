"""What one analysis consists of (its parts) and how their answers are judged: parts that missed
the deadline make it inconclusive with a reason; a failure while gathering is one inconclusive
analysis, never a retry loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from test_reconcile_smallmodel import model

from slmfleet.analysis.verdict import overall
from slmfleet.api.rollout_status import EvalResult
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.handlers.rollout_analysis import DEADLINE_CHECK, start_gather

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SUITE = {
    "apiVersion": "slmfleet.io/v1alpha1",
    "kind": "EvalSuite",
    "metadata": {"name": "answers", "namespace": "team"},
    "spec": {"cases": [{"name": "one", "prompt": "1+1=", "expected": "2"}], "maxDropVsStable": 0.1},
}


class Broken:
    """A cache whose every read fails the way a bug or a hostile object would."""

    def pods(self, *_: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom with Authorization: Bearer s3cr3t-t0ken")

    def evalsuite(self, *_: Any) -> dict[str, Any] | None:
        raise RecursionError("schema too deep")


class Cache:
    """One ready pod per revision, and the EvalSuite ``answers``."""

    def pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [
            {
                "metadata": {"labels": {"slmfleet.io/revision": rev}},
                "status": {
                    "phase": "Running",
                    "podIP": ip,
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }
            for rev, ip in (("new", "10.0.0.1"), ("old", "10.0.0.2"))
        ]

    def evalsuite(self, namespace: str, name: str) -> dict[str, Any] | None:
        return SUITE if name == "answers" else None


def gather_for(cache: object, **rollout: Any) -> Any:
    return start_gather(cast(FleetCache, cache), model(rollout=rollout), "new", "old", 0, NOW)


@pytest.mark.parametrize("rollout", [{"metrics": {"errorRate": 0.1}}, {"evalSuiteRef": "answers"}])
def test_a_failing_gather_is_one_inconclusive_analysis(rollout: dict[str, Any]) -> None:
    g = gather_for(Broken(), **rollout)
    assert g.parts == {}
    analysis = g.finish({}, {})
    assert [(c.name, c.verdict) for c in analysis.checks] == [("analysis", "inconclusive")]
    assert analysis.evaluation is None and analysis.at == NOW
    assert overall(analysis.checks, analysis.evaluation, require_evidence=True) == "inconclusive"
    assert "s3cr3t-t0ken" not in analysis.checks[0].threshold


def test_every_probe_request_and_the_eval_are_parts_of_their_own() -> None:
    g = gather_for(Cache(), metrics={"errorRate": 0.1}, evalSuiteRef="answers")
    assert list(g.parts) == [*(f"probe#{i}" for i in range(4)), "eval"]
    assert g.seconds == 24.0  # the default 30 s interval less its margin


def test_each_prometheus_query_is_a_part_and_its_answer_is_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLMFLEET_PROMETHEUS_URL", "http://prometheus:9090")
    settings.cache_clear()
    try:
        g = gather_for(Cache(), metrics={"p95TTFTSeconds": 1.0, "p95E2ESeconds": 3.0})
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert list(g.parts) == [*(f"probe#{i}" for i in range(4)), "query#0", "query#1"]
    assert "time_to_first_token" in g.queries["query#0"]
    analysis = g.finish({"query#0": 2.0}, {"query#1": "no answer in time"})
    assert [(c.name, c.verdict) for c in analysis.checks] == [
        ("p95TTFTSeconds", "fail"),
        ("p95E2ESeconds", "inconclusive"),
        (DEADLINE_CHECK, "inconclusive"),
    ]


def test_probe_answers_gathered_at_once_feed_the_error_rate() -> None:
    g = gather_for(Cache(), metrics={"errorRate": 0.1})
    analysis = g.finish({"probe#0": True, "probe#1": False, "probe#2": True, "probe#3": True}, {})
    assert [(c.name, c.value, c.verdict) for c in analysis.checks] == [("errorRate", 0.25, "fail")]


def test_parts_that_missed_the_deadline_make_the_analysis_inconclusive_saying_which() -> None:
    g = gather_for(Cache(), metrics={"errorRate": 0.1}, evalSuiteRef="answers")
    answers = {"probe#0": True}
    missed = {f"probe#{i}": "no answer in time" for i in (1, 2, 3)}
    missed["eval"] = "no answer in time"
    analysis = g.finish(answers, missed)
    late = [c for c in analysis.checks if c.name == DEADLINE_CHECK]
    assert len(late) == 1 and late[0].verdict == "inconclusive" and late[0].value == 4.0
    assert "eval (no answer in time)" in late[0].threshold
    assert "probe (no answer in time)" in late[0].threshold
    assert analysis.evaluation is not None and analysis.evaluation.verdict == "inconclusive"
    assert overall(analysis.checks, analysis.evaluation, require_evidence=True) == "inconclusive"


def test_a_failed_eval_still_fails_when_another_part_missed() -> None:
    g = gather_for(Cache(), evalSuiteRef="answers")
    failed = EvalResult(suite="answers", score=0.0, failed_cases=["one"], verdict="fail")
    analysis = g.finish({"eval": failed}, {"webhook:gate#0": "no answer in time"})
    assert analysis.evaluation is not None and analysis.evaluation.verdict == "fail"
    assert overall(analysis.checks, analysis.evaluation) == "fail"


def test_a_webhook_that_did_not_answer_is_inconclusive_not_failed() -> None:
    hook = {"name": "gate", "type": "pre-rollout", "url": "http://gate.example/check"}
    g = gather_for(Cache(), webhooks=[hook])
    assert list(g.parts) == ["webhook:gate#0"]
    analysis = g.finish({}, {"webhook:gate#0": "no answer in time"})
    assert [(c.name, c.verdict) for c in analysis.checks] == [
        ("webhook:gate", "inconclusive"),
        (DEADLINE_CHECK, "inconclusive"),
    ]


def test_the_eval_part_runs_the_suite_by_the_analysis_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from slmfleet.analysis.deadline import Deadline
    from slmfleet.handlers import rollout_analysis

    seen: dict[str, Any] = {}

    def fake_run_eval(cache: Any, model: Any, name: str, canary: list[str], stable: list[str],
                      deadline: float | None = None, **_: Any) -> EvalResult:  # fmt: skip
        seen.update(name=name, canary=canary, stable=stable, deadline=deadline)
        return EvalResult(suite=name, score=1.0, verdict="pass")

    monkeypatch.setattr(rollout_analysis, "run_eval", fake_run_eval)
    g = gather_for(Cache(), evalSuiteRef="answers")
    result = g.parts["eval"](Deadline(123.0, clock=lambda: 100.0))
    assert seen == {"name": "answers", "canary": ["10.0.0.1:8000"], "stable": ["10.0.0.2:8000"],
                    "deadline": 123.0}  # fmt: skip
    assert g.finish({"eval": result}, {}).evaluation == result
