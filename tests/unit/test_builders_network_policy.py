"""NetworkPolicies: engines reachable only from the router, Prometheus and the operator."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.builders import router
from slmfleet.builders.deployment import ModelRef
from slmfleet.builders.labels import selector_labels
from slmfleet.builders.network_policy import Peers, engine_network_policy
from slmfleet.config import settings
from slmfleet.handlers.model_sync import network_policies
from slmfleet.reconcile.model_plan import ModelPlan

pytestmark = pytest.mark.unit

MODEL = ModelRef("qwen", "team", "uid-1")
PROMETHEUS = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}


def test_engine_pods_take_connections_from_router_prometheus_and_operator_only() -> None:
    policy = engine_network_policy(MODEL, router.router_selector(), Peers(PROMETHEUS, "ops"))
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": selector_labels("qwen")}
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": router.router_selector()}},
        PROMETHEUS,
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}},
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "slmfleet",
                    "app.kubernetes.io/component": "operator",
                }
            },
        },
    ]
    assert policy["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_without_peers_only_the_router_gets_in() -> None:
    policy = engine_network_policy(MODEL, router.router_selector(), Peers())
    assert [list(p) for p in policy["spec"]["ingress"][0]["from"]] == [["podSelector"]]


def test_router_pods_take_connections_on_their_port_only() -> None:
    policy = router.network_policy("team", [("SmallModel", "qwen", "uid-1")])
    assert policy["metadata"]["name"] == router.ROUTER_NAME
    assert policy["spec"]["podSelector"] == {"matchLabels": router.router_selector()}
    assert policy["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": router.ROUTER_PORT}]}
    ]


@pytest.mark.parametrize(
    ("enabled", "children", "count"), [("true", 1, 1), ("false", 1, 0), ("true", 0, 0)]
)
def test_the_handler_adds_the_engine_policy_when_enabled(
    monkeypatch: pytest.MonkeyPatch, enabled: str, children: int, count: int
) -> None:
    monkeypatch.setenv("SLMFLEET_NETWORK_POLICY", enabled)
    monkeypatch.setenv("SLMFLEET_PROMETHEUS_PEER", '{"podSelector": {}}')
    settings.cache_clear()
    try:
        child: dict[str, Any] = {"kind": "Deployment"}
        plan = ModelPlan(apply=(child,) * children)
        body = {"metadata": {"name": "qwen", "namespace": "team", "uid": "uid-1"}}
        policies = network_policies(body, plan)
    finally:
        settings.cache_clear()
    assert len(policies) == count
    if policies:
        assert {"podSelector": {}} in policies[0]["spec"]["ingress"][0]["from"]
