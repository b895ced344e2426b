"""How a kubelet ends a pod being deleted, as timings the pod backer follows (pure).

Once a pod has a deletionTimestamp it is no longer Ready (kwok's stage, see kwok_stages.py) and
leaves its Services' endpoints; the kubelet runs each container's preStop hook, sends SIGTERM, and
sends SIGKILL when the grace period (counted from the start, preStop included) runs out. Only
then is the pod object removed. A preStop hook the local cluster understands is a wait: the
``sleep`` lifecycle action or an exec of ``sleep N``; any other hook takes no time here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_GRACE_SECONDS = 30.0
# The kubelet gives a process at least this long after SIGTERM, even when preStop used up the
# grace period.
MIN_TERM_SECONDS = 2.0


@dataclass(frozen=True)
class Termination:
    """Seconds to wait before SIGTERM (preStop), and the whole grace period."""

    pre_stop: float
    grace: float

    def term_window(self, elapsed: float) -> float:
        """How long the process may take after SIGTERM, ``elapsed`` seconds into termination."""
        return max(self.grace - elapsed, MIN_TERM_SECONDS)


def _seconds(value: Any) -> float | None:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


def pre_stop_seconds(container: Mapping[str, Any]) -> float:
    """The wait of one container's preStop hook (0 without one the local cluster can run)."""
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in hook:
        return _seconds((hook["sleep"] or {}).get("seconds")) or 0.0
    command = list((hook.get("exec") or {}).get("command") or [])
    if len(command) == 2 and os.path.basename(str(command[0])) == "sleep":
        return _seconds(command[1]) or 0.0
    return 0.0


def termination_of(pod: Mapping[str, Any]) -> Termination:
    """The preStop wait and grace period of a pod being deleted.

    The grace period is the one the deletion asked for (``deletionGracePeriodSeconds``), else
    the pod's ``terminationGracePeriodSeconds``, else 30 s. Containers' hooks run in parallel,
    so the longest one counts, and never past the grace period.
    """
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    grace = _seconds(meta.get("deletionGracePeriodSeconds"))
    if grace is None:
        grace = _seconds(spec.get("terminationGracePeriodSeconds"))
    if grace is None:
        grace = DEFAULT_GRACE_SECONDS
    waits = [pre_stop_seconds(c) for c in spec.get("containers") or []]
    return Termination(min(max(waits, default=0.0), grace), grace)
