"""The quality gate's result from eval runs (pure): the canary's score, and paired gaps to the
stable revision and to the reference model, with the cases that flipped."""

from __future__ import annotations

from collections.abc import Iterable

from slmfleet.analysis.evalrunner import EvalRun
from slmfleet.analysis.significance import pair, within
from slmfleet.analysis.verdict import eval_verdict
from slmfleet.api.rollout_status import MAX_LISTED_CASES, CheckVerdict, EvalResult, GapResult


def _some(names: Iterable[str]) -> list[str]:
    return sorted(names)[:MAX_LISTED_CASES]


def gap_result(
    against: str, canary: EvalRun, other: EvalRun, max_gap: float, confidence: float
) -> GapResult:
    """The canary against ``other`` over the same cases; inconclusive when either side has no
    complete run (unanswered cases would read as lost ones: a difference nobody measured)."""
    if other.score is None or canary.score is None:
        return GapResult(
            against=against, score=other.score, max_gap=max_gap, verdict="inconclusive"
        )
    gap = within(pair(canary.results, other.results), max_gap, confidence)
    theirs = {n: ok for n, ok in other.results.items() if ok is not None}
    return GapResult(
        against=against,
        score=other.score,
        cases=gap.table.n,
        difference=round(gap.difference, 6),
        low=round(gap.low, 6),
        high=round(gap.high, 6),
        p_value=gap.p_value,
        max_gap=max_gap,
        gained=_some(n for n, ok in theirs.items() if not ok and canary.results.get(n)),
        lost=_some(n for n, ok in theirs.items() if ok and not canary.results.get(n)),
        verdict=gap.verdict,
    )


def why_inconclusive(run: EvalRun, gaps: Iterable[GapResult]) -> str:
    if run.cases and not run.complete:
        return f"only {run.sent} of {run.cases} cases were sent before the deadline"
    if not run.answered:
        return "no canary pod answered"
    for g in gaps:
        if g.verdict == "inconclusive":
            if g.score is None:
                return f"no complete run of {g.against}"
            return (
                f"{g.cases} paired cases cannot tell whether the gap to {g.against} is within "
                f"{g.max_gap:g} (interval {g.low:+.3f}..{g.high:+.3f})"
            )
    return ""


def judge_verdict(run: EvalRun, threshold: float | None) -> CheckVerdict | None:
    """The judge cases' verdict when the suite gates on them; None when it does not."""
    if threshold is None or not run.judged:
        return None
    score = run.judge_score
    if score is None:
        return "inconclusive"
    return "pass" if score >= threshold else "fail"


def eval_result(
    suite: str,
    run: EvalRun,
    pass_threshold: float,
    stable: GapResult | None = None,
    reference: GapResult | None = None,
    judge_threshold: float | None = None,
) -> EvalResult:
    gaps = [g for g in (stable, reference) if g is not None]
    judged = judge_verdict(run, judge_threshold)
    others = [g.verdict for g in gaps] + ([judged] if judged else [])
    verdict = eval_verdict(run.score, pass_threshold, others)
    message = why_inconclusive(run, gaps) if verdict == "inconclusive" else ""
    if verdict == "inconclusive" and not message and judged == "inconclusive":
        message = "not every judge case was graded (the reference gave no grade)"
    return EvalResult(
        suite=suite,
        score=run.score,
        stable_score=stable.score if stable else None,
        cases=run.cases,
        answered=run.answered,
        failed_cases=_some(run.failed_cases),
        judged=len(run.judged),
        judge_score=run.judge_score,
        stable=stable,
        reference=reference,
        message=message,
        verdict=verdict,
    )
