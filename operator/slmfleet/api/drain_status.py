"""status.draining of a SmallModel: revisions leaving, and what their scale-down waits on."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from slmfleet.api.base import StatusModel


class DrainStage(StrEnum):
    """What a leaving revision's scale-down waits on."""

    ROUTING = "Routing"
    """Every ready router replica (and the HTTPRoute) to serve a config without the revision."""
    REQUESTS = "Requests"
    """The requests the routers still have in flight on the revision to finish."""


class DrainStatus(StatusModel):
    """One revision on its way out; its pods stay until it is drained or the timeout passes."""

    revision: str = Field(description="Pod-template hash of the leaving revision.")
    cause: str = Field("", description="Why it leaves: Promoted, RolledBack, RolloutAborted, ...")
    stage: DrainStage = Field(description="Routing or Requests.")
    started_at: str = Field(description="When the revision began to leave (RFC3339).")
    stage_started_at: str = Field(description="When the current stage began (RFC3339).")
    message: str = Field("", description="What is being waited on, in words.")
