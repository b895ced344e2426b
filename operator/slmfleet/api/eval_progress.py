"""status.evalProgress of a SmallModel: how far the eval of the analysis in flight has got."""

from __future__ import annotations

from pydantic import Field

from slmfleet.api.base import StatusModel


class SideProgress(StatusModel):
    """One side of the eval (the canary, stable or the reference): cases done of its total."""

    side: str = Field(description="canary, stable or reference.")
    done: int = Field(0, ge=0, description="Cases answered, failed or given up on so far.")
    total: int = Field(0, ge=0, description="Cases this side runs.")


class EvalProgress(StatusModel):
    """The eval running now, written every few seconds while it runs (never per case) and
    removed when its result is recorded in ``status.rollout.lastEval``."""

    suite: str = Field(description="EvalSuite name.")
    started_at: str = Field(description="When the analysis that runs it started (RFC3339).")
    sides: list[SideProgress] = Field(default_factory=list, description="Progress per side.")
