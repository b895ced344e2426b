"""Analysis verdicts: thresholds, ratios, the eval gate, and the overall verdict."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from slmfleet.analysis.checks import analyze
from slmfleet.analysis.probe import ProbeResult, combined_error_rate
from slmfleet.analysis.verdict import (
    Threshold,
    check,
    eval_verdict,
    first_failure,
    inconclusive_reason,
    overall,
    ratio,
    verdict,
)
from slmfleet.analysis.webhooks import due_hooks, run_hooks
from slmfleet.api.rollout import MetricChecks, Webhook
from slmfleet.api.rollout_status import CheckResult, EvalResult, GapResult

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "lo", "hi", "want"),
    [
        (0.4, None, 0.5, "pass"),
        (0.5, None, 0.5, "pass"),  # bounds are inclusive
        (0.51, None, 0.5, "fail"),
        (1.0, 2.0, None, "fail"),
        (3.0, 2.0, 4.0, "pass"),
        (None, None, 0.5, "inconclusive"),
        (math.nan, None, 0.5, "inconclusive"),
        (7.0, None, None, "pass"),
    ],
)
def test_verdict(value: float | None, lo: float | None, hi: float | None, want: str) -> None:
    assert verdict(value, Threshold(lo, hi)) == want


@pytest.mark.parametrize(
    ("canary", "stable", "want"),
    [(0.3, 0.2, 1.5), (0.2, 0.0, None), (0.0, 0.0, 1.0), (None, 0.2, None), (0.2, None, None)],
)
def test_ratio(canary: float | None, stable: float | None, want: float | None) -> None:
    got = ratio(canary, stable)
    assert got == pytest.approx(want) if want is not None else got is None


@pytest.mark.parametrize(
    ("score", "threshold", "gaps", "want"),
    [
        (0.9, 0.8, [], "pass"),
        (0.7, 0.8, [], "fail"),
        (0.9, 0.8, ["pass", "fail"], "fail"),  # a paired comparison proved too big a gap
        (0.9, 0.8, ["pass", "pass"], "pass"),
        (0.9, 0.8, ["inconclusive"], "inconclusive"),  # too few cases to tell
        (0.7, 0.8, ["inconclusive"], "fail"),  # below the threshold whatever the comparison
        (None, 0.8, ["pass"], "inconclusive"),
    ],
)
def test_eval_verdict(score: float | None, threshold: float, gaps: list[str], want: str) -> None:
    assert eval_verdict(score, threshold, gaps) == want  # type: ignore[arg-type]


def test_first_failure_names_the_gap_that_failed() -> None:
    gap = GapResult(
        against="hosted/api", score=1.0, cases=1000, difference=-0.05, low=-0.064, high=-0.036,
        max_gap=0.02, lost=["c1", "c2"], verdict="fail",
    )  # fmt: skip
    evaluation = EvalResult(suite="s", score=0.95, reference=gap, verdict="fail")
    assert first_failure([], evaluation) == (
        "eval s 5.0 points below hosted/api (interval -0.064..-0.036, max gap 0.02; lost: c1, c2)"
    )


def result(v: str) -> CheckResult:
    return CheckResult(name=v, value=1.0, threshold="<= 0.5", verdict=v)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdicts", "eval_v", "want"),
    [
        (["pass", "pass"], None, "pass"),
        (["pass", "inconclusive"], None, "inconclusive"),
        (["inconclusive", "fail"], None, "fail"),
        (["pass"], "fail", "fail"),
        ([], "inconclusive", "inconclusive"),
        ([], None, "pass"),
    ],
)
def test_overall(verdicts: list[str], eval_v: str | None, want: str) -> None:
    evaluation = (
        EvalResult(suite="s", score=0.5, verdict=eval_v)  # type: ignore[arg-type]
        if eval_v
        else None
    )
    assert overall([result(v) for v in verdicts], evaluation) == want


def test_check_and_first_failure_name_value_and_threshold() -> None:
    c = check("errorRate", 0.25, Threshold(max=0.05))
    assert (c.verdict, c.value, c.threshold) == ("fail", 0.25, "<= 0.05")
    assert first_failure([check("ok", 0.0, Threshold(max=1)), c]) == (
        "errorRate=0.25 (threshold <= 0.05)"
    )


@pytest.mark.parametrize(
    ("sent", "failed", "prom", "want"),
    [(8, 2, None, 0.25), (8, 0, 0.1, 0.1), (0, 0, None, None), (4, 1, 0.5, 0.5)],
)
def test_probe_error_rate_joins_prometheus(
    sent: int, failed: int, prom: float | None, want: float | None
) -> None:
    assert combined_error_rate(ProbeResult(sent, failed).error_rate, prom) == want


@pytest.mark.parametrize(
    ("step", "steps", "code", "want"),
    [
        (0, 3, 200, {"webhook:pre": "pass"}),  # first step: the pre-rollout gate
        (0, 3, 503, {"webhook:pre": "fail"}),
        (1, 3, 200, {}),  # middle step: no gate
        (2, 3, 204, {"webhook:promo": "pass"}),  # last step: the pre-promotion gate
        (0, 1, 0, {"webhook:pre": "fail", "webhook:promo": "fail"}),  # unreachable fails
    ],
)
def test_webhook_gates(step: int, steps: int, code: int, want: dict[str, str]) -> None:
    hooks = [
        Webhook(name="pre", type="pre-rollout", url="http://gate/pre"),
        Webhook(name="promo", type="pre-promotion", url="http://gate/promo"),
    ]
    results = run_hooks(due_hooks(hooks, step, steps), {}, lambda url, body, timeout: code)
    assert {r.name: r.verdict for r in results} == want


def named(name: str, v: str) -> CheckResult:
    return CheckResult(name=name, value=1.0, threshold="<= 0.5", verdict=v)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("checks", "eval_v", "want"),
    [
        ([], None, "inconclusive"),  # nothing configured: no evidence
        ([named("webhook:pre", "pass")], None, "inconclusive"),  # a webhook is no measurement
        ([named("errorRate", "inconclusive")], None, "inconclusive"),
        ([named("p95TTFTSeconds", "pass")], None, "pass"),
        ([named("webhook:pre", "pass"), named("latency", "pass")], None, "pass"),
        ([], "pass", "pass"),  # the eval is evidence
        ([named("webhook:pre", "pass")], "pass", "pass"),
        ([named("webhook:pre", "fail")], None, "fail"),  # failures need no evidence
        ([], "fail", "fail"),
    ],
)
def test_a_pass_needs_one_conclusive_data_backed_check(
    checks: list[CheckResult], eval_v: str | None, want: str
) -> None:
    evaluation = (
        EvalResult(suite="s", score=0.9, verdict=eval_v)  # type: ignore[arg-type]
        if eval_v
        else None
    )
    assert overall(checks, evaluation, require_evidence=True) == want


def test_without_required_evidence_nothing_failing_passes() -> None:
    assert overall([], None, require_evidence=False) == "pass"
    assert overall([named("webhook:pre", "pass")], None) == "pass"


class Fixed:
    """A MetricProvider answering every query with one value (None: no data)."""

    def __init__(self, value: float | None) -> None:
        self.value = value

    def query(self, promql: str, now: datetime) -> float | None:
        return self.value


@pytest.mark.parametrize(
    ("prometheus", "probe", "want"),
    [
        (None, 0.0, "inconclusive"),  # the probe alone never passes errorRate
        (None, None, "inconclusive"),
        (None, 0.5, "fail"),  # but its failures count
        (0.01, 0.0, "pass"),
        (0.01, 0.5, "fail"),
        (0.2, 0.0, "fail"),
    ],
)
def test_error_rate_passes_only_on_prometheus_data(
    prometheus: float | None, probe: float | None, want: str
) -> None:
    metrics = MetricChecks(errorRate=0.05)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    (result,) = analyze(metrics, Fixed(prometheus), "ns", "new", None, now, 30, probe)
    assert (result.name, result.verdict) == ("errorRate", want)


def test_an_inconclusive_eval_says_why() -> None:
    evaluation = EvalResult(
        suite="s", score=0.95, message="20 paired cases", verdict="inconclusive"
    )
    assert inconclusive_reason(evaluation) == "eval s: 20 paired cases"
    assert inconclusive_reason(None) is None
    assert inconclusive_reason(evaluation.model_copy(update={"verdict": "pass"})) is None
