"""Paired comparison of two eval runs over the same cases (pure): McNemar and a gap interval.

Both sides answered the same cases, so each case is a pair of pass/fail outcomes. Only the
discordant pairs carry information about a difference: ``gained`` (the candidate passed, the
other side failed) and ``lost`` (the reverse). The exact McNemar test gives the two-sided p-value
of "no difference"; the Agresti-Min adjusted Wald interval (half a case added to each cell of the
2x2 table) bounds the difference of pass rates, candidate minus other side.

The gate is a non-inferiority test with a margin: the candidate passes when the whole interval
lies above ``-margin`` (it is at most ``margin`` worse, at the stated confidence), fails when the
whole interval lies below it (it is surely more than ``margin`` worse), and is inconclusive
otherwise: a suite too small to tell. A candidate exactly at the margin stays inconclusive however
large the suite, by design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Verdict = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class PairedTable:
    """The 2x2 table of a paired comparison."""

    both: int = 0
    gained: int = 0
    """The candidate passed where the other side failed."""
    lost: int = 0
    """The candidate failed where the other side passed."""
    neither: int = 0

    @property
    def n(self) -> int:
        return self.both + self.gained + self.lost + self.neither

    @property
    def difference(self) -> float:
        """Pass rate of the candidate minus the other side's (0 for an empty table)."""
        return (self.gained - self.lost) / self.n if self.n else 0.0


def pair(candidate: Mapping[str, bool | None], other: Mapping[str, bool | None]) -> PairedTable:
    """The table over the cases both runs hold. A case the other side did not answer (None) is
    left out, so a flaky reference never flatters the candidate; the candidate's own unanswered
    cases count as failures."""
    cells = [0, 0, 0, 0]
    for name, theirs in other.items():
        if theirs is None or name not in candidate:
            continue
        ours = bool(candidate[name])
        cells[(0 if ours else 2) + (0 if theirs else 1)] += 1
    both, gained, lost, neither = cells
    return PairedTable(both, gained, lost, neither)


def mcnemar_exact(gained: int, lost: int) -> float:
    """Two-sided exact McNemar p-value: the binomial test of the discordant pairs at 1/2."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(gained, lost) + 1))
    return min(1.0, float(2 * tail / 2**n))


def gap_interval(table: PairedTable, confidence: float) -> tuple[float, float]:
    """Two-sided interval of the difference of pass rates at ``confidence`` (Agresti-Min)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = table.n + 2
    gained, lost = table.gained + 0.5, table.lost + 0.5
    diff = (gained - lost) / n
    spread = z * math.sqrt(max(0.0, (gained + lost) - (gained - lost) ** 2 / n)) / n
    return max(-1.0, diff - spread), min(1.0, diff + spread)


@dataclass(frozen=True)
class Gap:
    """The outcome of one paired comparison."""

    table: PairedTable
    low: float
    high: float
    p_value: float
    verdict: Verdict

    @property
    def difference(self) -> float:
        return self.table.difference


def within(table: PairedTable, margin: float, confidence: float) -> Gap:
    """Whether the candidate is at most ``margin`` (a fraction: 0.02 = 2 points) worse."""
    low, high = gap_interval(table, confidence)
    p = mcnemar_exact(table.gained, table.lost)
    if table.n == 0:
        return Gap(table, low, high, p, "inconclusive")
    verdict: Verdict = "pass" if low >= -margin else "fail" if high < -margin else "inconclusive"
    return Gap(table, low, high, p, verdict)
