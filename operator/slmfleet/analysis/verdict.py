"""Verdicts of analysis checks (pure): a measured value against a threshold range.

No data is never a pass: a value of None (no samples, Prometheus unreachable) or NaN is
inconclusive, and an analysis is only a pass when every check passed and, unless the rollout says
`analysis: none`, at least one data-backed check (a metric or the eval, not a webhook) passed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from slmfleet.api.rollout_status import CheckResult, CheckVerdict, EvalResult


@dataclass(frozen=True)
class Threshold:
    """A closed range; either bound may be open-ended."""

    min: float | None = None
    max: float | None = None

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g}..{self.max:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        return "any"


def verdict(value: float | None, threshold: Threshold) -> CheckVerdict:
    """pass when ``value`` lies in the range, fail when outside, inconclusive without data."""
    if value is None or math.isnan(value):
        return "inconclusive"
    if threshold.min is not None and value < threshold.min:
        return "fail"
    if threshold.max is not None and value > threshold.max:
        return "fail"
    return "pass"


def check(name: str, value: float | None, threshold: Threshold) -> CheckResult:
    return CheckResult(
        name=name,
        value=None if value is None or math.isnan(value) else value,
        threshold=threshold.describe(),
        verdict=verdict(value, threshold),
    )


def ratio(canary: float | None, stable: float | None) -> float | None:
    """canary / stable; None when either is missing or stable is 0 (no comparison possible)."""
    if canary is None or stable is None or math.isnan(canary) or math.isnan(stable):
        return None
    if stable == 0:
        return None if canary != 0 else 1.0
    return canary / stable


def eval_verdict(
    score: float | None, pass_threshold: float, gaps: Iterable[CheckVerdict] = ()
) -> CheckVerdict:
    """The quality gate: canary score at least the threshold, and every paired comparison (with
    stable, with the reference) proven within its margin."""
    if score is None:
        return "inconclusive"
    if score < pass_threshold:
        return "fail"
    listed = list(gaps)
    if "fail" in listed:
        return "fail"
    return "inconclusive" if "inconclusive" in listed else "pass"


WEBHOOK_PREFIX = "webhook:"


def data_backed(check: CheckResult) -> bool:
    """Metric checks are measurements; a webhook's answer is someone's opinion."""
    return not check.name.startswith(WEBHOOK_PREFIX)


def has_evidence(checks: Iterable[CheckResult], evaluation: EvalResult | None = None) -> bool:
    """At least one data-backed check or the eval passed."""
    if evaluation is not None and evaluation.verdict == "pass":
        return True
    return any(data_backed(c) and c.verdict == "pass" for c in checks)


def overall(
    checks: Iterable[CheckResult],
    evaluation: EvalResult | None = None,
    require_evidence: bool = False,
) -> CheckVerdict:
    """fail if any check failed, else inconclusive if any had no data, else pass; with
    ``require_evidence`` a pass without a data-backed passing check is inconclusive."""
    listed = list(checks)
    verdicts = [c.verdict for c in listed]
    if evaluation is not None:
        verdicts.append(evaluation.verdict)
    if "fail" in verdicts:
        return "fail"
    if "inconclusive" in verdicts:
        return "inconclusive"
    if require_evidence and not has_evidence(listed, evaluation):
        return "inconclusive"
    return "pass"


def first_failure(
    checks: Iterable[CheckResult], evaluation: EvalResult | None = None
) -> str | None:
    """'name=value (threshold)' of the first failed check, for status and Events."""
    for c in checks:
        if c.verdict == "fail":
            value = "no data" if c.value is None else f"{c.value:g}"
            return f"{c.name}={value} (threshold {c.threshold})"
    if evaluation is not None and evaluation.verdict == "fail":
        return f"eval {evaluation.suite} {_eval_failure(evaluation)}"
    return None


def _eval_failure(evaluation: EvalResult) -> str:
    for gap in (evaluation.stable, evaluation.reference):
        if gap is not None and gap.verdict == "fail" and gap.difference is not None:
            return (
                f"{-gap.difference * 100:.1f} points below {gap.against} "
                f"(interval {gap.low:+.3f}..{gap.high:+.3f}, max gap {gap.max_gap:g}; "
                f"lost: {', '.join(gap.lost[:5])})"
            )
    failed = ", ".join(evaluation.failed_cases[:5])
    score = "none" if evaluation.score is None else f"{evaluation.score:g}"
    return f"score={score} (failed: {failed})"


def inconclusive_reason(evaluation: EvalResult | None) -> str | None:
    """Why an analysis had no verdict, when the eval says (a suite too small, a deadline)."""
    if evaluation is not None and evaluation.verdict == "inconclusive" and evaluation.message:
        return f"eval {evaluation.suite}: {evaluation.message}"
    return None
