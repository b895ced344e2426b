"""A ModelRoute whose backends have no ready replicas: asleep is Current, starting is InProgress,
and only Stalled SmallModels make the route Stalled (what GitOps tools read, via kstatus)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from kstatus_rules import kstatus

from slmfleet.api.modelroute import parse_modelroute
from slmfleet.conditions import conditions_for
from slmfleet.handlers.modelroute import model_target
from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget

pytestmark = pytest.mark.unit

SMALL = ModelTarget("small", "qwen3-small", "small", "abc123")
LARGE = ModelTarget("large", "qwen3-large", "large", "def456")
ASLEEP = replace(SMALL, scaled_to_zero=True)
BROKEN = replace(LARGE, stalled="DoesNotFit: needs 30 GiB, l4 has 24 GiB")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def route(*backends: tuple[str, int]) -> Any:
    spec = {
        "backends": [{"name": n, "smallModelRef": {"name": n}, "weight": w} for n, w in backends]
    }
    return parse_modelroute(
        {"metadata": {"name": "r", "namespace": "ns", "uid": "u"}, "spec": spec}
    )


@pytest.mark.parametrize(
    ("backends", "models", "endpoints", "reason", "verdict", "words"),
    [
        ((("small", 100),), [SMALL], {}, "WaitingForEndpoints", "InProgress", "no ready"),
        ((("small", 100),), [ASLEEP], {}, "ScaledToZero", "Current", "first request wakes"),
        ((("large", 100),), [BROKEN], {}, "BackendsStalled", "Failed", "needs 30 GiB"),
        # one asleep, one broken: the asleep one takes the requests
        ((("small", 50), ("large", 50)), [ASLEEP, BROKEN], {}, "ScaledToZero", "Current", "wakes"),
        # one starting, one broken: the starting one will take them
        (
            (("small", 50), ("large", 50)),
            [SMALL, BROKEN],
            {},
            "WaitingForEndpoints",
            "InProgress",
            "",
        ),
        # a broken fallback-only backend leaves the route serving, and says so in unavailable
        (
            (("small", 100), ("large", 0)),
            [SMALL, BROKEN],
            {"small": ("127.1.0.5:8000",)},
            "Resolved",
            "Current",
            "1/2 backends available",
        ),
        ((("gone", 100),), [], {}, "NoBackends", "Failed", "gone"),
    ],
)
def test_unresolved_backends(
    backends: tuple[tuple[str, int], ...],
    models: list[ModelTarget],
    endpoints: dict[str, tuple[str, ...]],
    reason: str,
    verdict: str,
    words: str,
) -> None:
    outcome = plan_namespace([route(*backends)], models, endpoints).outcomes["r"]
    assert outcome.verdict.reason == reason
    assert words in outcome.verdict.message
    conditions, _ = conditions_for(outcome.verdict, [], generation=1, now=NOW)
    status = {"observedGeneration": 1, "conditions": conditions}
    assert kstatus({"metadata": {"generation": 1}, "status": status}) == verdict


def test_unavailable_entries_say_why_a_model_has_no_replicas() -> None:
    outcome = plan_namespace([route(("small", 50), ("large", 50))], [ASLEEP, BROKEN], {}).outcomes[
        "r"
    ]
    assert [(u["name"], u["reason"]) for u in outcome.status["unavailable"]] == [
        ("small", "ScaledToZero"),
        ("large", "SmallModelStalled"),
    ]


def _model(conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {"metadata": {"name": "m"}, "spec": {}, "status": {"conditions": conditions}}


def test_routing_reads_a_model_asleep_or_stalled_from_its_conditions() -> None:
    asleep = model_target(_model([{"type": "Ready", "status": "True", "reason": "ScaledToZero"}]))
    assert (asleep.scaled_to_zero, asleep.stalled) == (True, None)
    stalled = {"type": "Stalled", "status": "True", "reason": "DoesNotFit", "message": "too big"}
    broken = model_target(_model([stalled]))
    assert (broken.scaled_to_zero, broken.stalled) == (False, "too big")
    healthy = {"type": "Stalled", "status": "False", "reason": "Healthy", "message": ""}
    assert model_target(_model([healthy])).stalled is None
