"""The router's ConfigMap, Deployment and Service (pure builders)."""

from __future__ import annotations

import json

import pytest

from slmfleet.builders import router
from slmfleet.devcluster.backing import backing_for
from slmfleet.reconcile.backend_policy import SecretEnv
from slmfleet.router.__main__ import parse_args
from slmfleet.router.config import Backend, Route, RouterConfig, parse_config

pytestmark = pytest.mark.unit

OWNERS = [("SmallModel", "b-model", "uid-2"), ("ModelRoute", "a-route", "uid-1")]
CONFIG = RouterConfig(
    routes=(
        Route(name="m", backends=(Backend(name="m", model="m", endpoints=("10.0.0.1:8000",)),)),
    )
)


def test_config_map_holds_the_config_that_parses_back() -> None:
    cm = router.config_map("ns", CONFIG, OWNERS)
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("slmfleet-router", "ns")
    parsed = parse_config(cm["data"]["config.json"])
    assert parsed == CONFIG.stamped()
    assert parsed.generation == CONFIG.content_generation()
    annotation = cm["metadata"]["annotations"]["slmfleet.io/router-config-generation"]
    assert annotation == parsed.generation


def test_owned_by_every_model_and_route_none_the_controller() -> None:
    refs = router.service("ns", OWNERS)["metadata"]["ownerReferences"]
    assert [(r["kind"], r["name"], r["uid"]) for r in refs] == [
        ("ModelRoute", "a-route", "uid-1"),
        ("SmallModel", "b-model", "uid-2"),
    ]
    assert all("controller" not in r and "blockOwnerDeletion" not in r for r in refs)


def test_deployment_shape() -> None:
    dep = router.deployment("team-a", "img:1", OWNERS, [SecretEnv("SLMFLEET_KEY_R_B", "s", "k")])
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "img:1"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8080"
    assert {
        "name": "SLMFLEET_KEY_R_B",
        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
    } in (container["env"])
    assert pod["spec"]["volumes"] == [{"name": "config", "configMap": {"name": "slmfleet-router"}}]
    # Nothing dev-only: the local cluster recognises the router by its `python -m slmfleet.*`.
    assert [e["name"] for e in container["env"]] == ["SLMFLEET_KEY_R_B"]
    backing = backing_for(pod)
    assert backing is not None and backing.kind == "python"
    assert backing.args[0] == "slmfleet.router"
    assert (
        dep["spec"]["selector"]["matchLabels"]
        == router.service("team-a", OWNERS)["spec"]["selector"]
    )


def test_the_container_is_a_valid_python_m_invocation_the_dev_cluster_can_back() -> None:
    dep = router.deployment("team-a", "img:1", OWNERS)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m"]
    backing = backing_for(dep["spec"]["template"])
    assert backing is not None and backing.kind == "python" and backing.ports == (8080,)
    module, *options = backing.args
    assert module == "slmfleet.router"
    # The dev cluster appends --port; the last one wins.
    args = parse_args([*options, "--port", "41234"])
    assert (args.config, args.configmap, args.port) == (
        "/etc/slmfleet-router/config.json",
        "team-a/slmfleet-router",
        41234,
    )


def test_config_json_is_camel_case() -> None:
    data = json.loads(router.config_map("ns", CONFIG, OWNERS)["data"]["config.json"])
    assert "holdWhenNoEndpointsSeconds" in data["defaults"]
