"""kstatus conditions (Ready, Reconciling, Stalled), computed purely from what was observed.

A condition keeps its lastTransitionTime while its status stays the same; every change of a
condition's status or reason is reported as a transition, and ``reported`` makes one Event of
the transitions of one reconcile (Ready's, naming the others that changed with it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slmfleet.redact import redact
from slmfleet.timefmt import format_time

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one reconcile, in kstatus terms."""

    ready: bool
    reason: str
    message: str
    stalled: bool = False
    reconciling: bool = False
    warning: bool = False
    """Post Ready's transition to False as a Warning Event, though not Stalled (it may clear)."""


@dataclass(frozen=True)
class Transition:
    type: str
    status: str
    reason: str
    message: str
    warning: bool


def _wanted(verdict: Verdict) -> list[tuple[str, bool]]:
    return [
        (READY, verdict.ready),
        (RECONCILING, verdict.reconciling and not verdict.stalled),
        (STALLED, verdict.stalled),
    ]


def conditions_for(
    verdict: Verdict,
    previous: Sequence[Mapping[str, Any]],
    generation: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Transition]]:
    """The new condition list and the transitions against ``previous``.

    Ready always carries the reason and message; Reconciling and Stalled carry them while True
    (kstatus's "abnormal-true" convention) and read "Idle"/"Healthy" when False.
    """
    old = {c.get("type"): c for c in previous}
    out: list[dict[str, Any]] = []
    transitions: list[Transition] = []
    for ctype, value in _wanted(verdict):
        status = "True" if value else "False"
        if ctype == READY or value:
            reason, message = verdict.reason, redact(verdict.message)
        else:
            reason = "Idle" if ctype == RECONCILING else "Healthy"
            message = ""
        before = old.get(ctype) or {}
        changed = before.get("status") != status or before.get("reason") != reason
        since = (
            format_time(now, whole_seconds=True)
            if before.get("status") != status
            else before.get("lastTransitionTime", format_time(now, whole_seconds=True))
        )
        out.append(
            {
                "type": ctype,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
        if changed and (value or before or ctype == READY):
            warning = (ctype == STALLED and value) or (
                ctype == READY and not value and (verdict.stalled or verdict.warning)
            )
            transitions.append(Transition(ctype, status, reason, message, warning))
    return out, transitions


@dataclass(frozen=True)
class Report:
    """One Event about the transitions of one reconcile."""

    reason: str
    message: str
    warning: bool


def _said(t: Transition) -> str:
    return f"{t.type}={t.status}: {t.message}" if t.message else f"{t.type}={t.status}"


def reported(transitions: Sequence[Transition]) -> list[Report]:
    """The Events of one reconcile's transitions. Reconciling and Stalled change with Ready
    (True with Ready's reason, or back to Idle/Healthy when it becomes True): when Ready
    changed, its one Event names the others (``Ready=True: 1/1 replicas ready; Reconciling=
    False``) and is a Warning when any of them is; alone, each is its own Event."""
    ready = next((t for t in transitions if t.type == READY), None)
    if ready is None:
        return [Report(t.reason, _said(t), t.warning) for t in transitions]
    others = [f"{t.type}={t.status}" for t in transitions if t is not ready]
    message = "; ".join([_said(ready), *others])
    return [Report(ready.reason, message, any(t.warning for t in transitions))]
