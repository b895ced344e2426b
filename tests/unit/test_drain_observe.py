"""What the actor reads for a drain: nothing while none is pending; else the router pods, each
ready one's /health, and the HTTPRoute with the gateway-api provider."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api.parse import parse_smallmodel
from slmfleet.builders import router as router_builder
from slmfleet.handlers import drain_observe
from slmfleet.handlers.drain_observe import observe_drains, revision_hosts
from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.traffic.router_drain import RECENT
from slmfleet.traffic.router_generation import RouterHealth

pytestmark = pytest.mark.unit

DRAINING = [
    {"revision": "old", "cause": "Promoted", "stage": "Routing",
     "startedAt": "2026-01-01T00:00:00Z", "stageStartedAt": "2026-01-01T00:00:00Z"},
]  # fmt: skip


def model(draining: list[dict[str, Any]] | None, provider: str = "router") -> Any:
    rollout: dict[str, Any] = {"trafficProvider": provider}
    if provider == "gateway-api":
        rollout["gatewayRef"] = {"name": "gw"}
    body = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "metadata": {"name": "m", "namespace": "ns", "uid": "u"},
        "spec": {
            "source": {"huggingFace": {"repo": "Qwen/Qwen3-0.6B", "revision": "a" * 40}},
            "gpuClassName": "l4",
            "rollout": rollout,
        },
        "status": {"draining": draining},
    }
    return parse_smallmodel(body)


def pod(ip: str, revision: str | None = None) -> dict[str, Any]:
    labels = {"slmfleet.io/revision": revision} if revision else router_builder.router_selector()
    ready = [{"type": "Ready", "status": "True"}]
    return {
        "metadata": {"labels": labels},
        "status": {"phase": "Running", "podIP": ip, "conditions": ready},
    }


class Kube:
    def __init__(self) -> None:
        self.reads: list[tuple[str, ...]] = []

    def list(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        self.reads.append(("list", kind, selector))
        return [pod("10.1.0.1")]

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        self.reads.append(("get", kind, name))
        refs = [{"name": "m-old", "weight": 10}]
        return {"metadata": {"name": name}, "spec": {"rules": [{"backendRefs": refs}]}}


class Cache:
    def pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [pod("10.0.0.1", "old"), pod("10.0.0.2", "new")]


def test_revision_hosts() -> None:
    assert revision_hosts(Cache().pods("ns", "m"), "old") == {"10.0.0.1"}


def test_nothing_is_read_without_a_pending_drain() -> None:
    kube = Kube()
    assert observe_drains(Cache(), kube, model(None)) == {}  # type: ignore[arg-type]
    assert kube.reads == []


@pytest.mark.parametrize(("provider", "away"), [("router", True), ("gateway-api", False)])
def test_a_pending_drain_asks_the_routers_and_the_httproute(
    monkeypatch: pytest.MonkeyPatch, provider: str, away: bool
) -> None:
    target = ModelTarget("m", "m", "m", "new", (("new", 100),))
    endpoints = {"m": ("10.0.0.1:8000", "10.0.0.2:8000")}
    revisions = {"10.0.0.1": "old", "10.0.0.2": "new"}
    generation = RECENT.remember("ns", plan_namespace([], [target], endpoints, revisions).config)
    health = RouterHealth(generation, {"10.0.0.1:8000": 1})
    monkeypatch.setattr(drain_observe, "fetch_health", lambda address, timeout: health)
    kube = Kube()
    seen = observe_drains(Cache(), kube, model(DRAINING, provider))  # type: ignore[arg-type]
    assert (seen["old"].routed_away, seen["old"].in_flight) == (away, 1)
    assert kube.reads[0] == ("list", "Pod", "app.kubernetes.io/name=slmfleet-router,"
                             "app.kubernetes.io/component=router")  # fmt: skip
    if not away:  # the HTTPRoute still gives the old revision's Service weight
        assert "HTTPRoute m" in seen["old"].waiting_on
