"""The new rollout status and actions of one state machine call, collected as it decides.

``TransitionBuilder`` holds ``status.rollout`` and ``status.history`` as they change and the
Events and annotation clean-ups on the way; ``finish`` adds the weights, replica counts and
deletions the final status implies. ``stamp`` and ``seconds_since`` read and write the status's
timestamps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import HistoryEntry, RolloutStatus
from slmfleet.rollout.history import push
from slmfleet.rollout.plan import replicas_of, weights_of
from slmfleet.rollout.state import (
    Action,
    ClearAnnotation,
    DeleteRevision,
    Emit,
    Observations,
    RolloutState,
    Scale,
    SetWeights,
    Transition,
)
from slmfleet.timefmt import format_time, parse_time


def stamp(now: datetime) -> str:
    return format_time(now)


def seconds_since(then: str | None, now: datetime) -> float | None:
    if then is None:
        return None
    return (now - parse_time(then)).total_seconds()


class TransitionBuilder:
    """Collects the new status and actions of one call."""

    def __init__(self, spec: RolloutSpec, state: RolloutState, obs: Observations) -> None:
        self.spec, self.obs = spec, obs
        self.rollout = state.rollout
        self.history = state.history
        self.actions: list[Action] = []

    def set(self, **fields: Any) -> None:
        base = self.rollout or RolloutStatus()
        self.rollout = base.model_copy(update=fields)

    def emit(self, type_: str, reason: str, message: str) -> None:
        self.actions.append(Emit("Warning" if type_ == "Warning" else "Normal", reason, message))

    def clear(self, key: str) -> None:
        self.actions.append(ClearAnnotation(key))

    def remember(self, revision: str, now: datetime) -> None:
        entry = HistoryEntry(revision=revision, spec=dict(self.obs.spec), promoted_at=stamp(now))
        self.history = push(self.history, entry, self.spec.history_limit)

    def finish(self) -> Transition:
        plan = replicas_of(self.spec, self.rollout, self.obs.revision, self.obs.total)
        weights = weights_of(self.rollout, self.obs.revision)
        keep = {*plan, self.obs.revision}  # the spec's revision is the reconcile's to apply
        # scale-downs first, so a full cluster frees GPUs before new replicas ask for them
        scales = sorted(plan.items(), key=lambda kv: kv[1] - self.obs.ready.get(kv[0], 0))
        actions: list[Action] = [SetWeights(tuple(weights.items()))]
        actions += [Scale(rev, n) for rev, n in scales]
        actions += [DeleteRevision(rev) for rev in sorted(self.obs.ready) if rev not in keep]
        return Transition(RolloutState(self.rollout, self.history), (*actions, *self.actions))
