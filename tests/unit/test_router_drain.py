"""Whether the routers (and an HTTPRoute) still send new requests to a leaving revision, from the
configs the operator wrote and what each router reports in /health."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.router.config import RouterConfig
from slmfleet.traffic.router_drain import (
    RecentConfigs,
    httproute_waits,
    observe_routing,
    sends_to,
)
from slmfleet.traffic.router_generation import RouterHealth

pytestmark = pytest.mark.unit

READY = {"m": ("10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000")}
REVISION_OF = {"10.0.0.1": "old", "10.0.0.2": "old", "10.0.0.3": "new"}
OLD = {"10.0.0.1", "10.0.0.2"}


def config(*weights: tuple[str, int], draining: tuple[str, ...] = ()) -> RouterConfig:
    target = ModelTarget("m", "served", "m", "new", tuple(weights), draining=draining)
    return plan_namespace([], [target], READY, REVISION_OF).config.stamped()


@pytest.mark.parametrize(
    ("cfg", "sends"),
    [
        (config(("old", 90), ("new", 10)), True),  # a canary step: both serve
        (config(("old", 0), ("new", 100)), False),  # promoting: the old stable has weight 0
        (config(("new", 100)), False),  # promoted: only the new revision's endpoints
        (config(), True),  # no weights (replicas provider): every ready endpoint
        (config(draining=("old",)), False),  # ... except a draining revision's
    ],
)
def test_sends_to(cfg: RouterConfig, sends: bool) -> None:
    assert sends_to(cfg, "old", OLD) is sends


def test_a_draining_revision_keeps_serving_when_nothing_else_can() -> None:
    only_old = {"m": ("10.0.0.1:8000",)}
    target = ModelTarget("m", "served", "m", "old", (), draining=("old",))
    cfg = plan_namespace([], [target], only_old, REVISION_OF).config
    assert cfg.routes[0].backends[0].endpoints == ("10.0.0.1:8000",)


def test_recent_configs_keep_the_last_few_per_namespace() -> None:
    recent = RecentConfigs(kept=2)
    a, b, c = config(("old", 90), ("new", 10)), config(("old", 0), ("new", 100)), config()
    gens = [recent.remember("ns", x) for x in (a, b, c)]
    assert recent.get("ns", gens[0]) is None  # the oldest went
    assert recent.get("ns", gens[2]) == c and recent.get("other", gens[2]) is None
    recent.forget("ns")
    assert recent.get("ns", gens[2]) is None


def _recent(*configs: RouterConfig) -> tuple[RecentConfigs, list[str]]:
    recent = RecentConfigs()
    return recent, [recent.remember("ns", c) for c in configs]


def test_routed_away_once_every_router_serves_a_config_without_it() -> None:
    recent, (split, promoted) = _recent(config(("old", 90), ("new", 10)), config(("new", 100)))
    healths = {
        "r1:8080": RouterHealth(promoted, {"10.0.0.1:8000": 2, "10.0.0.3:8000": 5}),
        "r2:8080": RouterHealth(split, {}),
    }
    behind = observe_routing("ns", "old", OLD, healths, configs=recent)
    assert not behind.routed_away and "r2:8080" in behind.waiting_on
    assert behind.in_flight == 2  # only the old revision's endpoints count
    healths["r2:8080"] = RouterHealth(promoted, {"10.0.0.2:8000": 1})
    away = observe_routing("ns", "old", OLD, healths, configs=recent)
    assert (away.routed_away, away.in_flight) == (True, 3)


def test_a_silent_router_or_an_unknown_generation_is_not_routed_away() -> None:
    recent, _ = _recent(config(("new", 100)))
    silent = observe_routing("ns", "old", OLD, {"r1:8080": None}, configs=recent)
    assert not silent.routed_away and silent.in_flight is None
    unknown = observe_routing("ns", "old", OLD, {"r1:8080": RouterHealth("zzz")}, configs=recent)
    assert not unknown.routed_away
    # no ready router at all: nothing routes to it (a router that starts loads the newest)
    assert observe_routing("ns", "old", OLD, {}, configs=recent).routed_away


def route(weight: int, generation: int = 2, accepted: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": "m", "generation": generation},
        "spec": {"rules": [{"backendRefs": [{"name": "m-new", "weight": 100},
                                             {"name": "m-old", "weight": weight}]}]},
    }  # fmt: skip
    if accepted is not None:
        condition = {"type": "Accepted", "status": "True", "observedGeneration": accepted}
        body["status"] = {"parents": [{"parentRef": {"name": "gw"}, "conditions": [condition]}]}
    return body


@pytest.mark.parametrize(
    ("body", "waits"),
    [
        (None, False),  # no HTTPRoute (yet, or any more)
        (route(10), True),
        (route(0), False),  # no gateway reports on it here: applied is all there is to see
        (route(0, generation=3, accepted=2), True),  # a gateway has not seen weight 0 yet
        (route(0, generation=3, accepted=3), False),
    ],
)
def test_httproute_waits(body: dict[str, Any] | None, waits: bool) -> None:
    assert bool(httproute_waits(body, "m-old")) is waits
