"""Paired significance: exact McNemar against known tables, the gap interval, the margin gate."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from slmfleet.analysis.significance import (
    PairedTable,
    gap_interval,
    mcnemar_exact,
    pair,
    within,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("gained", "lost", "p"),
    [
        (0, 0, 1.0),
        (3, 3, 1.0),
        (0, 5, 0.0625),  # 2 / 2**5
        (1, 9, 0.021484375),  # 2 * (1 + 10) / 1024
        (1, 7, 0.0703125),  # Bentur et al., the worked example of Fagerland et al. (2013): 0.070
        (7, 1, 0.0703125),  # symmetric
        (0, 1, 1.0),  # one flipped case says nothing
    ],
)
def test_mcnemar_exact_on_known_tables(gained: int, lost: int, p: float) -> None:
    assert mcnemar_exact(gained, lost) == pytest.approx(p, abs=1e-12)


def test_mcnemar_exact_on_a_large_table_matches_the_exact_binomial_tail() -> None:
    # 150 vs 86 discordant pairs (Agresti's presidential approval table)
    n = 236
    tail = Fraction(sum(math.comb(n, k) for k in range(87)), 2**n)
    assert mcnemar_exact(150, 86) == pytest.approx(float(2 * tail), rel=1e-9)
    assert mcnemar_exact(150, 86) < 1e-4


def test_gap_interval_by_hand() -> None:
    # 1,000 cases, the candidate lost 10: Agresti-Min adds half a case to each cell
    table = PairedTable(both=990, lost=10)
    low, high = gap_interval(table, 0.95)
    n, g, lo = 1002, 0.5, 10.5
    d = (g - lo) / n
    s = 1.959963984540054 * math.sqrt((g + lo) - (g - lo) ** 2 / n) / n
    assert (low, high) == pytest.approx((d - s, d + s))
    assert low == pytest.approx(-0.01644, abs=1e-4)


def test_wider_at_higher_confidence() -> None:
    table = PairedTable(both=90, gained=2, lost=5, neither=3)
    lo95, hi95 = gap_interval(table, 0.95)
    lo99, hi99 = gap_interval(table, 0.99)
    assert lo99 < lo95 < table.difference < hi95 < hi99


@pytest.mark.parametrize(
    ("table", "margin", "want"),
    [
        (PairedTable(both=990, lost=10), 0.02, "pass"),  # 1 point worse, 1,000 cases
        (PairedTable(both=950, lost=50), 0.02, "fail"),  # 5 points worse, 1,000 cases
        (PairedTable(both=19, lost=1), 0.02, "inconclusive"),  # 20 cases, one flipped
        (PairedTable(both=980, lost=20), 0.02, "inconclusive"),  # exactly at the margin
        (PairedTable(both=20), 0.02, "inconclusive"),  # too few cases even when equal
        (PairedTable(both=500, gained=30), 0.0, "pass"),  # surely better
        (PairedTable(), 0.02, "inconclusive"),  # nothing to compare
    ],
)
def test_within_margin(table: PairedTable, margin: float, want: str) -> None:
    assert within(table, margin, 0.95).verdict == want


def test_pair_counts_cells_and_leaves_out_cases_the_other_side_did_not_answer() -> None:
    candidate = {"a": True, "b": True, "c": False, "d": False, "e": None, "f": True}
    other = {"a": True, "b": False, "c": True, "d": False, "e": True, "f": None}
    table = pair(candidate, other)
    # e: the candidate's unanswered case is a failure; f: the reference did not answer
    assert table == PairedTable(both=1, gained=1, lost=2, neither=1)
    assert table.difference == pytest.approx(-1 / 5)
