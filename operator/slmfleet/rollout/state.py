"""What the rollout state machine reads and what it asks for: observations, requests, actions.

All of it is plain data. The machine's own state is ``status.rollout`` and ``status.history``
(:mod:`slmfleet.api.rollout_status`), so an operator restarted mid-rollout reads it back and
carries on from the same step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from slmfleet import GROUP
from slmfleet.api.rollout_status import CheckResult, EvalResult, HistoryEntry, RolloutStatus

PROMOTE = f"{GROUP}/promote"
ABORT = f"{GROUP}/abort"
RETRY = f"{GROUP}/retry"
ROLLBACK_TO = f"{GROUP}/rollback-to"
ANNOTATIONS = (PROMOTE, ABORT, RETRY, ROLLBACK_TO)


@dataclass(frozen=True)
class Requests:
    """Manual actions asked for through annotations on the SmallModel."""

    promote: bool = False
    abort: bool = False
    retry: bool = False
    rollback_to: str | None = None

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> Requests:
        def yes(key: str) -> bool:
            return str(annotations.get(key, "")).strip().lower() == "true"

        target = str(annotations.get(ROLLBACK_TO, "")).strip() or None
        return cls(yes(PROMOTE), yes(ABORT), yes(RETRY), target)


@dataclass(frozen=True)
class Observations:
    """What the handler saw this tick."""

    revision: str
    """The revision the current spec produces."""
    total: int
    """Replicas the model should have (spec.replicas, else minReplicas)."""
    ready: Mapping[str, int] = field(default_factory=dict)
    """Ready replicas of each revision that has a Deployment."""
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The SmallModel spec that produces ``revision`` (kept in history)."""
    checks: tuple[CheckResult, ...] = ()
    evaluation: EvalResult | None = None
    analysis_at: datetime | None = None
    """When the analysis in ``checks`` was started (stamped and counted as of then); None: now."""
    analysis_pending: bool = False
    """An analysis is still being gathered: none is counted this tick."""
    requests: Requests = Requests()
    paused: bool = False


@dataclass(frozen=True)
class RolloutState:
    rollout: RolloutStatus | None = None
    history: tuple[HistoryEntry, ...] = ()


@dataclass(frozen=True)
class SetWeights:
    """Traffic per revision in percent, stable first."""

    weights: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Scale:
    revision: str
    replicas: int


@dataclass(frozen=True)
class DeleteRevision:
    revision: str


@dataclass(frozen=True)
class Emit:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str
    transition: bool = False
    """A condition transition (rate-limited per object), not a rollout step."""


@dataclass(frozen=True)
class ClearAnnotation:
    key: str


@dataclass(frozen=True)
class RestoreSpec:
    """Write a past revision's spec back (a manual rollback)."""

    revision: str
    spec: Mapping[str, Any]


Action = SetWeights | Scale | DeleteRevision | Emit | ClearAnnotation | RestoreSpec


@dataclass(frozen=True)
class Transition:
    state: RolloutState
    actions: tuple[Action, ...]
