"""Traffic providers: replica-ratio splits and the Gateway API route, against hand arithmetic."""

from __future__ import annotations

import pytest

from slmfleet.traffic.gateway_api import GatewayAPIProvider
from slmfleet.traffic.replica_ratio import ReplicaRatioProvider, effective_weight, split_replicas

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


@pytest.mark.parametrize(("stable", "canary", "want"), [(3, 1, 25), (2, 1, 33), (0, 0, 0)])
def test_effective_weight(stable: int, canary: int, want: int) -> None:
    assert effective_weight(stable, canary) == want


def test_replica_ratio_provider_orders_stable_first() -> None:
    plan, children = ReplicaRatioProvider(total=8).set_weights("m", {"a": 75, "b": 25})
    assert plan == {"a": 6, "b": 2}  # ceil(8*25/100)=2 canary
    assert children == []


@pytest.mark.parametrize("weights", [{"a": 50, "b": 40}, {"a": 101, "b": -1}, {}])
def test_bad_weights_are_refused(weights: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ReplicaRatioProvider(total=2).set_weights("m", weights)


def test_gateway_route_has_weighted_backends_per_revision_service() -> None:
    provider = GatewayAPIProvider("team", "uid", "gw", "infra", total=3)
    plan, children = provider.set_weights("qwen", {"r1": 70, "r2": 30})
    assert plan == {"r1": 3, "r2": 1}  # ceil(2.1)=3, ceil(0.9)=1
    services = [c for c in children if c["kind"] == "Service"]
    assert [s["metadata"]["name"] for s in services] == ["qwen-r1", "qwen-r2"]
    assert services[1]["spec"]["selector"]["slmfleet.io/revision"] == "r2"
    route = next(c for c in children if c["kind"] == "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "gw", "namespace": "infra"}]
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("qwen-r1", 70), ("qwen-r2", 30)]
