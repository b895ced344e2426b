"""Whether a SmallModel gets a PodDisruptionBudget, and which existing ones go (pure).

A budget of ``maxUnavailable: 1`` protects a model only when it can run more than one engine
pod of a revision: a drain then evicts its pods one at a time, each replaced before the next
goes. For a model of at most one replica it allows every eviction anyway, and it is not free:
the disruption controller matches every pod event of a namespace against every budget there,
and writes the budget's status on each of its pods' changes. So a model whose ``maxReplicas``
is 1 has none, and the budget of a model scaled down to that is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.api.smallmodel import SmallModel, SmallModelSpec
from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.service import pod_disruption_budget
from slmfleet.ownership import owner_uids

KIND = "PodDisruptionBudget"


@dataclass(frozen=True)
class Removal:
    """An object of the model's to delete: its kind, name and the uid it was seen with (the
    delete's precondition)."""

    kind: str
    name: str
    uid: str


def wants_budget(spec: SmallModelSpec) -> bool:
    """More than one replica of a revision is possible (maxReplicas bounds replicas and the
    autoscaler alike)."""
    return spec.max_replicas > 1


def budgets(ref: ModelRef, spec: SmallModelSpec) -> tuple[dict[str, Any], ...]:
    """The model's PodDisruptionBudget, when it wants one."""
    return (pod_disruption_budget(ref),) if wants_budget(spec) else ()


def stale_budgets(model: SmallModel, existing: Iterable[Mapping[str, Any]]) -> tuple[Removal, ...]:
    """The model's own budgets (owned by its uid) that it no longer wants: all of them when
    it wants none, else any of another name."""
    own = model.metadata
    ref = ModelRef(own.name, own.namespace or "default", own.uid or "")
    keep = {b["metadata"]["name"] for b in budgets(ref, model.spec)}
    out = []
    for body in existing:
        meta = body.get("metadata") or {}
        name = str(meta.get("name") or "")
        if name and name not in keep and ref.uid and ref.uid in owner_uids(body):
            out.append(Removal(KIND, name, str(meta.get("uid") or "")))
    return tuple(out)
