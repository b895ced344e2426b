"""The kstatus rules (sigs.k8s.io/cli-utils v0.37.2, status.Compute) for a custom resource, restated.

Only what applies to a kind without built-in rules: deletion, the observed generation, Reconciling
and Stalled, then the Ready fallback. The e2e test judges live objects with the real library
(hack/tools/kstatus); tests/unit/test_kstatus_recorded.py checks this restatement agrees with it on
the objects that test recorded, so unit tests may rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def kstatus(obj: Mapping[str, Any]) -> str:
    """Current, InProgress, Failed or Terminating."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return "InProgress"
    conditions = status.get("conditions") or []
    for cond in conditions:
        if cond.get("type") == "Reconciling" and cond.get("status") == "True":
            return "InProgress"
        if cond.get("type") == "Stalled" and cond.get("status") == "True":
            return "Failed"
    for cond in conditions:
        if cond.get("type") == "Ready":
            if cond.get("status") == "True":
                return "Current"
            if cond.get("status") in ("False", "Unknown"):
                return "InProgress"
    return "Current"
