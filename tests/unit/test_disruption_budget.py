"""A SmallModel has a PodDisruptionBudget only when it can run more than one replica, and the
plan deletes the one a model outgrew (its own only)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from test_model_plan import body, observed, plan

from slmfleet.api.parse import parse_smallmodel
from slmfleet.reconcile.disruption_budget import Removal, stale_budgets, wants_budget

pytestmark = pytest.mark.unit


def budget(name: str, owner: str | None, uid: str = "pdb-uid") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "team", "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"kind": "SmallModel", "name": name, "uid": owner}]
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("spec", "wanted"),
    [
        ({"minReplicas": 1, "maxReplicas": 1}, False),
        ({"minReplicas": 0, "maxReplicas": 1}, False),
        ({"minReplicas": 1, "maxReplicas": 1, "replicas": 1}, False),
        ({"minReplicas": 1, "maxReplicas": 2}, True),
        ({"minReplicas": 3, "maxReplicas": 3}, True),
        ({"minReplicas": 0, "maxReplicas": 4}, True),  # scale to zero, then up to four
    ],
)
def test_a_budget_only_where_more_than_one_replica_can_run(
    spec: dict[str, Any], wanted: bool
) -> None:
    model = parse_smallmodel(body(**spec))
    assert wants_budget(model.spec) is wanted
    kinds = [o["kind"] for o in plan(body(**spec), observed()).apply]
    assert ("PodDisruptionBudget" in kinds) is wanted
    assert kinds[:2] == ["Deployment", "Service"]


def test_the_budget_of_a_model_scaled_down_to_one_replica_is_removed() -> None:
    one = body(minReplicas=1, maxReplicas=1)
    name = one["metadata"]["name"]
    o = dataclasses.replace(observed(), budgets=(budget(name, "uid-1"),))
    assert plan(one, o).removals == (Removal("PodDisruptionBudget", name, "pdb-uid"),)
    many = body(minReplicas=1, maxReplicas=3)
    assert plan(many, o).removals == ()  # still wanted: applied, not removed


def test_only_the_models_own_budgets_are_removed() -> None:
    model = parse_smallmodel(body(minReplicas=1, maxReplicas=1))
    name = model.metadata.name
    found = [
        budget(name, None, "a"),  # a user's, of the model's name
        budget(name, "someone-else", "b"),
        budget(name, "uid-1", "c"),
    ]
    assert stale_budgets(model, found) == (Removal("PodDisruptionBudget", name, "c"),)


def test_a_model_being_deleted_removes_nothing_itself() -> None:
    b = body(minReplicas=1, maxReplicas=1)
    b["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:00Z"
    o = dataclasses.replace(observed(), budgets=(budget(b["metadata"]["name"], "uid-1"),))
    assert plan(b, o).removals == ()
