"""ModelRoute -> HTTPRoute rendering, and which features need the built-in router."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api.modelroute import parse_modelroute
from slmfleet.traffic.gateway import MODEL_HEADER, httproute, router_only_features

pytestmark = pytest.mark.unit


def route(**spec: Any) -> Any:
    body = {"metadata": {"name": "triage", "namespace": "ns", "uid": "u1"}, "spec": spec}
    return parse_modelroute(body)


BASE: dict[str, Any] = {
    "provider": "gateway-api",
    "parentRefs": [{"name": "gw", "namespace": "infra", "sectionName": "http"}],
    "match": {"model": "support-triage", "headers": {"x-tenant": "acme"}},
    "backends": [
        {"name": "stable", "smallModelRef": {"name": "qwen.v1"}, "weight": 90},
        {"name": "canary", "smallModelRef": {"name": "qwen-v2"}, "weight": 10},
        {"name": "absent", "smallModelRef": {"name": "nope"}, "weight": 5},
    ],
    "timeoutSeconds": 2.5,
}


def test_httproute_rendering() -> None:
    services = {"qwen.v1": "qwen-v1-abcde", "qwen-v2": "qwen-v2"}
    out = httproute(route(**BASE), services)
    assert (out["apiVersion"], out["kind"]) == ("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert out["spec"]["parentRefs"] == [
        {"name": "gw", "namespace": "infra", "sectionName": "http"}
    ]
    rule = out["spec"]["rules"][0]
    # The SmallModel without a Service is left out; weights pass through as written.
    assert rule["backendRefs"] == [
        {"name": "qwen-v1-abcde", "port": 8000, "weight": 90},
        {"name": "qwen-v2", "port": 8000, "weight": 10},
    ]
    assert rule["matches"][0]["headers"] == [
        {"type": "Exact", "name": MODEL_HEADER, "value": "support-triage"},
        {"type": "Exact", "name": "x-tenant", "value": "acme"},
    ]
    assert rule["timeouts"] == {"request": "2500ms"}  # 2.5 s, as a Gateway API duration
    assert out["metadata"]["ownerReferences"][0]["uid"] == "u1"


def test_without_alias_the_route_name_is_the_model() -> None:
    spec = {**BASE, "match": {}}
    rule = httproute(route(**spec), {})["spec"]["rules"][0]
    assert rule["matches"][0]["headers"] == [
        {"type": "Exact", "name": MODEL_HEADER, "value": "triage"}
    ]
    assert "timeouts" in rule and rule["backendRefs"] == []


@pytest.mark.parametrize(
    ("extra", "blocking", "all_features"),
    [
        ({}, 0, 0),
        ({"retries": 2}, 0, 1),
        ({"retries": 1, "fallback": ["canary"]}, 0, 2),
        ({"cascade": {"tiers": ["stable", "canary"]}}, 1, 1),
        ({"shadow": {"backend": "canary", "percent": 10}}, 0, 1),  # ignored, not refused
        ({"backends": [{"name": "h", "url": "https://x.example/v1", "model": "m"}]}, 1, 1),
    ],
)
def test_router_only_features(extra: dict[str, Any], blocking: int, all_features: int) -> None:
    spec = route(**{**BASE, **extra}).spec
    assert len(router_only_features(spec, blocking=True)) == blocking
    assert len(router_only_features(spec)) == all_features
