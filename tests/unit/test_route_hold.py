"""A SmallModel backend's hold is sized from its serving revision's measured cold start (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from slmfleet.api.modelroute import parse_modelroute
from slmfleet.handlers.modelroute import model_target
from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.reconcile.route_hold import backend_hold
from slmfleet.router.config import RouterDefaults

pytestmark = pytest.mark.unit

DEFAULTS = RouterDefaults()  # hold 30 s, deadline 300 s


@pytest.mark.parametrize(
    ("expected", "defaults", "hold"),
    [
        (None, DEFAULTS, None),             # nothing measured: the default
        (4.0, DEFAULTS, None),              # 6 s: below the default, which stays
        (20.0, DEFAULTS, None),             # exactly the default (30 s): no own hold
        (21.0, DEFAULTS, 35.0),             # 31.5 s rounded up to the next 5 s
        (40.0, DEFAULTS, 60.0),             # 1.5 x 40
        (41.0, DEFAULTS, 65.0),             # 61.5 -> 65
        (42.9, DEFAULTS, 65.0),             # a slightly different measure: the same hold
        (500.0, DEFAULTS, 300.0),           # capped by the request deadline
        (500.0, RouterDefaults(requestTimeoutSeconds=90), 90.0),
        (40.0, RouterDefaults(holdWhenNoEndpointsSeconds=0), None),    # holds turned off
        (40.0, RouterDefaults(holdWhenNoEndpointsSeconds=120), None),  # default is longer
        (-1.0, DEFAULTS, None),             # a clock skew never makes a negative hold
    ],
)  # fmt: skip
def test_backend_hold(expected: float | None, defaults: RouterDefaults, hold: float | None) -> None:
    assert backend_hold(expected, defaults) == hold


def body(starts: list[dict[str, Any]], revision: str = "r2") -> dict[str, Any]:
    meta = {"name": "qwen", "namespace": "ns", "uid": "u", "resourceVersion": "1"}
    status = {"templateHash": revision, "coldStarts": starts}
    return {"metadata": meta, "spec": {}, "status": status}


@pytest.mark.parametrize(
    ("starts", "seconds"),
    [
        ([], None),
        # The serving revision's entry; another revision's does not count.
        ([{"revision": "r1", "totalSeconds": 90.0}], None),
        ([{"revision": "r2", "totalSeconds": 90.0}, {"revision": "r1", "totalSeconds": 5}], 90.0),
        # With a cache, the download was a one-off: the pod part only.
        ([{"revision": "r2", "totalSeconds": 90.0, "downloadSeconds": 70.0, "cached": True}], 20.0),
    ],
)  # fmt: skip
def test_the_target_carries_the_serving_revisions_cold_start(
    starts: list[dict[str, Any]], seconds: float | None
) -> None:
    assert model_target(body(starts)).cold_start_seconds == seconds


SLOW = ModelTarget("qwen", "qwen3", "qwen", "r2", cold_start_seconds=80.0)


def test_the_routes_plan_renders_each_models_hold() -> None:
    fast = ModelTarget("tiny", "tiny", "tiny", "t1", cold_start_seconds=3.0)
    routed = parse_modelroute(
        {
            "metadata": {"name": "chat", "namespace": "ns", "uid": "u"},
            "spec": {"backends": [{"name": "big", "smallModelRef": {"name": "qwen"}}]},
        }
    )
    config = plan_namespace([routed], [SLOW, fast], {}).config
    holds = {(r.name, b.name): b.hold_seconds for r in config.routes for b in r.backends}
    # The ModelRoute's backend and the implicit routes of both models (qwen3 is not claimed).
    assert holds == {("chat", "big"): 120.0, ("qwen3", "qwen"): 120.0, ("tiny", "tiny"): None}
    tiny = config.route("tiny")
    assert tiny is not None
    assert "holdSeconds" not in tiny.model_dump_json(by_alias=True, exclude_none=True)
    assert '"holdSeconds": 120.0' in config.to_json()


def test_the_config_changes_only_when_the_rounded_hold_does() -> None:
    def generation(target: ModelTarget) -> str:
        return plan_namespace([], [target], {}).config.content_generation()

    again = dataclasses.replace(SLOW, cold_start_seconds=79.0)  # 118.5 -> 120 s, as before
    longer = dataclasses.replace(SLOW, cold_start_seconds=84.0)  # 126 -> 130 s
    assert generation(again) == generation(SLOW)
    assert generation(longer) != generation(SLOW)
    caps = RouterDefaults(requestTimeoutSeconds=60)
    capped = plan_namespace([], [SLOW], {}, defaults=caps).config
    assert capped.routes[0].backends[0].hold_seconds == 60.0
