"""The paired gap to another side is measured only between two complete runs: a canary that
answered nothing (or ran out of time) is not a canary that lost every case."""

from __future__ import annotations

import pytest

from slmfleet.analysis.eval_gate import eval_result, gap_result
from slmfleet.analysis.evalrunner import EvalRun

pytestmark = pytest.mark.unit

NAMES = [f"c{i}" for i in range(20)]
REFERENCE = EvalRun(dict.fromkeys(NAMES, True), cases=20, answered=20, sent=20)


def test_a_canary_without_answers_is_inconclusive_not_a_gap_of_minus_one() -> None:
    silent = EvalRun(dict.fromkeys(NAMES, None), cases=20, answered=0, sent=20)
    gap = gap_result("reference", silent, REFERENCE, 0.02, 0.95)
    assert gap.verdict == "inconclusive" and gap.difference is None and not gap.lost
    assert gap.score == 1.0 and gap.cases == 0
    result = eval_result("s", silent, 0.5, reference=gap)
    assert result.verdict == "inconclusive" and result.message == "no canary pod answered"


def test_a_canary_cut_short_by_the_deadline_is_inconclusive() -> None:
    partial = EvalRun({n: True for n in NAMES[:5]}, cases=20, answered=5, sent=5)
    gap = gap_result("reference", partial, REFERENCE, 0.02, 0.95)
    assert gap.verdict == "inconclusive" and gap.difference is None
    result = eval_result("s", partial, 0.5, reference=gap)
    assert result.message == "only 5 of 20 cases were sent before the deadline"


def test_a_complete_canary_counts_its_unanswered_cases_as_lost() -> None:
    answers: dict[str, bool | None] = {n: True for n in NAMES}
    answers["c0"] = None  # answered with an error: the candidate's own failure
    canary = EvalRun(answers, cases=20, answered=19, sent=20)
    gap = gap_result("reference", canary, REFERENCE, 0.02, 0.95)
    assert gap.difference == pytest.approx(-0.05) and gap.lost == ["c0"] and gap.cases == 20
