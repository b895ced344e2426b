"""Traffic providers: replicas per weight, the router's split and the Gateway API objects."""

from __future__ import annotations

import pytest

from slmfleet.api.rollout import RolloutSpec
from slmfleet.builders.deployment import ModelRef
from slmfleet.traffic.gateway_api import GatewayAPIProvider
from slmfleet.traffic.providers import provider_for
from slmfleet.traffic.replica_ratio import ReplicaRatioProvider, split_replicas
from slmfleet.traffic.router_weights import RouterWeightsProvider

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("total", "weight", "no_surge", "stable", "canary"),
    [
        (10, 10, False, 9, 1),  # ceil(10*10/100)=1
        (10, 25, False, 7, 3),  # ceil(2.5)=3
        (4, 10, False, 3, 1),  # ceil(0.4)=1
        (4, 50, False, 2, 2),
        (3, 50, False, 1, 2),  # ceil(1.5)=2
        (1, 10, False, 1, 1),  # both keep one: surge by one
        (1, 10, True, 0, 1),  # no surge on one GPU: full cut-over
        (2, 90, True, 1, 1),  # ceil(1.8)=2 capped at total-1
        (4, 100, False, 0, 4),
        (4, 0, False, 4, 0),
        (0, 50, False, 0, 0),
    ],
)
def test_split_replicas(total: int, weight: int, no_surge: bool, stable: int, canary: int) -> None:
    assert split_replicas(total, weight, no_surge) == (stable, canary)
    if no_surge:
        assert stable + canary <= total


@pytest.mark.parametrize(
    ("weights", "total", "no_surge", "want"),
    [
        ({"a": 100}, 3, False, {"a": 3}),
        ({"a": 90, "b": 10}, 4, False, {"a": 4, "b": 1}),  # stable keeps all; ceil(0.4)=1
        ({"a": 50, "b": 50}, 4, False, {"a": 4, "b": 2}),
        ({"a": 66, "b": 34}, 2, False, {"a": 2, "b": 1}),  # ceil(0.68)=1
        ({"a": 0, "b": 100}, 4, False, {"a": 0, "b": 4}),  # promoting: stable goes
        ({"a": 100, "b": 0}, 4, False, {"a": 4, "b": 0}),  # rolled back
        ({"a": 75, "b": 25}, 4, True, {"a": 3, "b": 1}),  # no surge: out of the stable's
        ({"a": 90, "b": 10}, 1, True, {"a": 0, "b": 1}),  # one GPU: full cut-over
    ],
)
def test_router_provider_keeps_stable_whole_and_sizes_the_canary(
    weights: dict[str, int], total: int, no_surge: bool, want: dict[str, int]
) -> None:
    provider = RouterWeightsProvider()
    assert provider.replicas(weights, total, no_surge) == want
    assert provider.router_weights(weights) == weights
    assert provider.objects(ModelRef("m", "ns", "uid"), weights) == []


def test_replica_ratio_provider_orders_stable_first_and_leaves_the_router_alone() -> None:
    provider = ReplicaRatioProvider()
    assert provider.replicas({"a": 75, "b": 25}, 8, False) == {"a": 6, "b": 2}  # ceil(2)=2
    assert provider.router_weights({"a": 75, "b": 25}) is None
    assert provider.objects(ModelRef("m", "ns", "uid"), {"a": 75, "b": 25}) == []


@pytest.mark.parametrize(
    "weights", [{"a": 50, "b": 40}, {"a": 101, "b": -1}, {}, {"a": 50, "b": 25, "c": 25}]
)
@pytest.mark.parametrize(
    "provider", [ReplicaRatioProvider(), RouterWeightsProvider(), GatewayAPIProvider("gw")]
)
def test_bad_weights_are_refused(weights: dict[str, int], provider: object) -> None:
    with pytest.raises(ValueError):
        provider.replicas(weights, 2, False)  # type: ignore[attr-defined]


def test_gateway_route_has_weighted_backends_per_revision_service() -> None:
    provider = GatewayAPIProvider("gw", "infra")
    assert provider.replicas({"r1": 70, "r2": 30}, 3, False) == {"r1": 3, "r2": 1}  # ceil 2.1, 0.9
    children = provider.objects(ModelRef("qwen", "team", "uid"), {"r1": 70, "r2": 30})
    services = [c for c in children if c["kind"] == "Service"]
    assert [s["metadata"]["name"] for s in services] == ["qwen-r1", "qwen-r2"]
    assert services[1]["spec"]["selector"]["slmfleet.io/revision"] == "r2"
    route = next(c for c in children if c["kind"] == "HTTPRoute")
    assert route["metadata"]["namespace"] == "team"
    assert route["metadata"]["ownerReferences"][0]["uid"] == "uid"
    assert route["spec"]["parentRefs"] == [{"name": "gw", "namespace": "infra"}]
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("qwen-r1", 70), ("qwen-r2", 30)]


@pytest.mark.parametrize(
    ("rollout", "kind"),
    [
        ({}, RouterWeightsProvider),
        ({"trafficProvider": "router"}, RouterWeightsProvider),
        ({"trafficProvider": "replicas"}, ReplicaRatioProvider),
        ({"trafficProvider": "gateway-api", "gatewayRef": {"name": "gw"}}, GatewayAPIProvider),
    ],
)
def test_provider_for_picks_the_named_provider(rollout: dict[str, object], kind: type) -> None:
    assert isinstance(provider_for(RolloutSpec.model_validate(rollout)), kind)
