"""A namespace's routing plan: spaced by its cost, and each model read again only when it changed."""

from __future__ import annotations

from typing import Any, cast

import pytest

from slmfleet.handlers.modelroute import model_targets
from slmfleet.handlers.runtime import ROUTES_DEBOUNCE_SECONDS, ROUTES_SPACING_FACTOR, Runtime
from slmfleet.workqueue import Key

pytestmark = pytest.mark.unit


class RecordingScheduler:
    def __init__(self) -> None:
        self.enqueued: list[tuple[Key, float]] = []

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        self.enqueued.append((key, delay))


def runtime_with(scheduler: RecordingScheduler) -> Runtime:
    rt = Runtime(cache=cast(Any, None), kube=cast(Any, None), scheduler=cast(Any, scheduler),
                 applier=cast(Any, None), events=cast(Any, None))  # fmt: skip
    rt.task = cast(Any, object())  # as if started: no event loop in a unit test
    return rt


def test_routing_is_debounced_and_spaced_by_what_its_plans_cost() -> None:
    scheduler = RecordingScheduler()
    rt = runtime_with(scheduler)
    rt.enqueue_routes("small")
    rt.route_costs["small"] = 0.001  # cheap plans keep the debounce
    rt.enqueue_routes("small")
    rt.route_costs["big"] = 0.25  # a namespace of a thousand models
    rt.enqueue_routes("big")
    assert scheduler.enqueued == [
        (("routes", "small"), ROUTES_DEBOUNCE_SECONDS),
        (("routes", "small"), ROUTES_DEBOUNCE_SECONDS),
        (("routes", "big"), ROUTES_SPACING_FACTOR * 0.25),
    ]


def body(name: str, version: str, served: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": version},
        "spec": {"servedModelName": served or name},
        "status": {"templateHash": "abc"},
    }


def test_models_are_read_again_only_when_their_object_changed() -> None:
    first = model_targets("ns-a", [body("a", "1"), body("b", "1")])
    again = model_targets("ns-a", [body("a", "1"), body("b", "2", served="bee")])
    assert again[0] is first[0]  # unchanged: the earlier reading
    assert again[1] is not first[1] and again[1].served_name == "bee"
    gone = model_targets("ns-a", [body("b", "2", served="bee")])
    assert [t.name for t in gone] == ["b"]  # a deleted model is not remembered
