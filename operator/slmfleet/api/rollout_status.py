"""status.rollout and status.history of a SmallModel: everything a restarted operator resumes from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from slmfleet.api.base import StatusModel


class RolloutPhase(StrEnum):
    """Where a rollout stands (Flagger's typed phase); the predicates group them."""

    PROGRESSING = "Progressing"
    """The step's weight is set; waiting for the canary's replicas to be ready."""
    ANALYZING = "Analyzing"
    PAUSED = "Paused"
    """The step's analysis passed; its pauseSeconds (or spec.paused) hold it."""
    PROMOTING = "Promoting"
    SUCCEEDED = "Succeeded"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"
    """A rollback that could not make the stable revision whole within the deadline."""

    @property
    def in_flight(self) -> bool:
        """A canary exists and the machine drives it (steps, promotion or rollback)."""
        return self not in (RolloutPhase.SUCCEEDED, RolloutPhase.ROLLED_BACK)

    @property
    def analyzed(self) -> bool:
        """The canary is analysed at every interval once its replicas are ready."""
        return self in (RolloutPhase.PROGRESSING, RolloutPhase.ANALYZING, RolloutPhase.PAUSED)

    @property
    def moving(self) -> bool:
        """Traffic moves towards the canary (steps or promotion): kstatus InProgress."""
        return self.analyzed or self is RolloutPhase.PROMOTING

    @property
    def rolled_back(self) -> bool:
        """The canary lost its traffic: rolling back, rolled back, or stuck rolling back."""
        return self in (RolloutPhase.ROLLING_BACK, RolloutPhase.ROLLED_BACK, RolloutPhase.FAILED)


CheckVerdict = Literal["pass", "fail", "inconclusive"]


class CheckResult(StatusModel):
    """One check of one analysis: what was measured against what."""

    name: str = Field(description="Check name, such as p95TTFTSeconds or a custom metric.")
    value: float | None = Field(None, description="Measured value; unset when no data.")
    threshold: str = Field("", description="What passes, such as '<= 0.5'.")
    verdict: CheckVerdict = Field(description="pass, fail or inconclusive.")


MAX_LISTED_CASES = 20
"""Case names kept per list in status (failed, gained, lost): enough to look at, bounded."""


class GapResult(StatusModel):
    """A paired comparison of the canary with another side over the same cases."""

    against: str = Field(description="stable, or the reference's name.")
    score: float | None = Field(None, description="The other side's pass rate.")
    cases: int = Field(0, ge=0, description="Cases both sides answered (paired).")
    difference: float | None = Field(None, description="Canary pass rate minus the other side's.")
    low: float | None = Field(None, description="Lower end of the difference's interval.")
    high: float | None = Field(None, description="Upper end of the difference's interval.")
    p_value: float | None = Field(None, description="Exact McNemar p-value of no difference.")
    max_gap: float = Field(description="Largest difference below the other side that passes.")
    gained: list[str] = Field(
        default_factory=list, description="Cases the canary passed and the other side failed."
    )
    lost: list[str] = Field(
        default_factory=list, description="Cases the canary failed and the other side passed."
    )
    verdict: CheckVerdict = Field(description="pass, fail or inconclusive.")


class EvalResult(StatusModel):
    """The quality gate's last run on the canary (and stable, for the drop)."""

    suite: str = Field(description="EvalSuite name.")
    score: float | None = Field(
        None, ge=0, le=1, description="Fraction of cases the canary passed; unset when none ran."
    )
    stable_score: float | None = Field(None, description="Same suite on the stable revision.")
    cases: int = Field(0, ge=0, description="Cases in the suite.")
    answered: int = Field(0, ge=0, description="Cases the canary answered.")
    failed_cases: list[str] = Field(
        default_factory=list,
        description=f"Names of failed cases (the first {MAX_LISTED_CASES}).",
    )
    judged: int = Field(0, ge=0, description="Judge cases (graded by the reference, apart).")
    judge_score: float | None = Field(
        None, description="Fraction of judge cases the reference graded PASS."
    )
    stable: GapResult | None = Field(None, description="Paired comparison with stable.")
    reference: GapResult | None = Field(None, description="Paired comparison with the reference.")
    message: str = Field("", description="Why the run is inconclusive, when it is.")
    verdict: CheckVerdict = Field(description="pass, fail or inconclusive.")


class RolloutStatus(StatusModel):
    """Where the rollout of the latest revision stands."""

    phase: RolloutPhase | None = Field(None, description="Rollout phase.")
    stable_revision: str | None = Field(None, description="Revision serving before this rollout.")
    canary_revision: str | None = Field(None, description="Revision being rolled out.")
    step: int = Field(0, ge=0, description="Index of the current step in spec.rollout.steps.")
    weight: int = Field(0, ge=0, le=100, description="Percent of traffic on the canary.")
    step_started_at: str | None = Field(
        None, description="When the current step, or the rollback, began (RFC3339)."
    )
    last_analysis_at: str | None = Field(None, description="When the last analysis ran.")
    failed_checks: int = Field(0, ge=0, description="Failed analyses in this rollout.")
    inconclusive_checks: int = Field(0, ge=0, description="Analyses without data in a row.")
    last_analysis: list[CheckResult] = Field(default_factory=list, description="Last checks.")
    last_eval: EvalResult | None = Field(None, description="Last quality-gate result.")
    failed_revision: str | None = Field(
        None, description="Revision rolled back; not retried until the spec changes or retry."
    )
    rollback_reason: str | None = Field(
        None,
        description=(
            "Why the failed revision was rolled back: RolledBack (analysis), RolloutAborted or "
            "ProgressDeadlineExceeded."
        ),
    )
    rollback_message: str | None = Field(
        None, description="The check, its value and threshold (or the deadline) that decided it."
    )
    message: str = Field("", description="What is happening, in words.")


class HistoryEntry(StatusModel):
    """A revision that served, with the spec that produced it, so rollback needs no retyping."""

    revision: str = Field(description="Pod-template hash.")
    spec: dict[str, Any] = Field(description="The SmallModel spec that produced the revision.")
    promoted_at: str | None = Field(None, description="When it became stable (RFC3339).")
