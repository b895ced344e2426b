"""RouterConfig parsing and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from slmfleet.router.config import EndpointPolicy, RouterConfig, load_config, parse_config

pytestmark = pytest.mark.unit


def _route(**overrides: Any) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": "triage",
        "backends": [
            {"name": "a", "model": "qwen-a", "weight": 80, "endpoints": ["10.0.0.1:8000"]},
            {"name": "b", "model": "qwen-b", "weight": 20, "endpoints": []},
        ],
    }
    route.update(overrides)
    return route


def test_camel_case_document_parses_into_snake_case_fields() -> None:
    document = {
        "defaults": {
            "maxBodyBytes": 2048,
            "requestTimeoutSeconds": 12.5,
            "holdWhenNoEndpointsSeconds": 3,
            "endpointPolicy": "roundRobin",
        },
        "routes": [
            _route(
                match={"model": "support-triage", "headers": {"X-Tenant": "acme"}},
                timeoutSeconds=4,
                retries=2,
                fallback=["b"],
                cascade={
                    "tiers": ["a", "b"],
                    "minMeanLogprob": -1.5,
                    "regex": "yes|no",
                    "maxEscalationFraction": 0.25,
                    "windowSeconds": 30,
                },
            )
        ],
    }
    config = parse_config(json.dumps(document))
    assert config.defaults.max_body_bytes == 2048
    assert config.defaults.request_timeout_seconds == 12.5
    assert config.defaults.hold_when_no_endpoints_seconds == 3
    assert config.defaults.endpoint_policy is EndpointPolicy.ROUND_ROBIN
    route = config.routes[0]
    assert route.match.headers == {"x-tenant": "acme"}  # header names are lower-cased
    assert route.model_names == ("triage", "support-triage")
    assert (route.timeout_seconds, route.retries, route.fallback) == (4, 2, ("b",))
    assert route.cascade is not None
    assert route.cascade.tiers == ("a", "b")
    assert route.cascade.max_escalation_fraction == 0.25
    assert route.backend("a") is not None and route.backend("a").weight == 80  # type: ignore[union-attr]
    assert route.backend("zzz") is None


def test_round_trip_through_to_json_keeps_the_config() -> None:
    config = RouterConfig.model_validate({"routes": [_route(fallback=["b"])]})
    again = parse_config(config.to_json())
    assert again == config
    assert '"fallback"' in config.to_json() and '"maxBodyBytes"' in config.to_json()


def test_defaults_apply_when_omitted() -> None:
    config = parse_config('{"routes": []}')
    assert config.defaults.max_body_bytes == 1024 * 1024
    assert config.defaults.endpoint_policy is EndpointPolicy.LEAST_IN_FLIGHT


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (_route(fallback=["nope"]), "unknown backends"),
        (_route(cascade={"tiers": ["a", "ghost"]}), "unknown backends"),
        (_route(cascade={"tiers": ["a"]}), "at least 2"),
        (_route(cascade={"tiers": ["a", "b"], "regex": "("}), "regex is not valid RE2 syntax"),
        (_route(cascade={"tiers": ["a", "b"], "maxEscalationFraction": 1.5}), "less than or equal"),
        (_route(retries=9), "less than or equal to 5"),
        (_route(backends=[]), "at least 1"),
        (
            _route(backends=[{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]),
            "backend names must be unique",
        ),
        (_route(backends=[{"name": "a", "model": "m", "weight": 101}]), "less than or equal"),
        (_route(backends=[{"name": "a", "model": "m", "endpoints": ["nohost"]}]), "host:port"),
        (_route(backends=[{"name": "a", "model": "m", "endpoints": ["h:70000"]}]), "host:port"),
        (
            _route(backends=[{"name": "a", "model": "m", "url": "http://x", "endpoints": ["h:1"]}]),
            "either url or endpoints",
        ),
        (_route(backends=[{"name": "a", "model": "m", "url": "ftp://x"}]), "http:// or https://"),
        (
            _route(backends=[{"name": "a", "model": "m", "apiKeyEnv": "KEY", "endpoints": []}]),
            "apiKeyEnv only applies",
        ),
        (
            _route(backends=[{"name": "a", "model": "m", "url": "http://x", "holdSeconds": 60}]),
            "holdSeconds only applies",
        ),
        (
            _route(backends=[{"name": "a", "model": "m", "holdSeconds": -1}]),
            "greater than or equal",
        ),
        (_route(bogus=1), "Extra inputs are not permitted"),
    ],
)
def test_invalid_routes_are_rejected_with_a_reason(route: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RouterConfig.model_validate({"routes": [route]})


def test_duplicate_route_names_are_rejected() -> None:
    with pytest.raises(ValidationError, match="route names must be unique"):
        RouterConfig.model_validate({"routes": [_route(), _route()]})


@pytest.mark.parametrize(
    "endpoint", ["10.0.0.1:8000", "pod-0.svc.cluster.local:80", "[::1]:8000", "localhost:65535"]
)
def test_endpoint_forms_that_are_accepted(endpoint: str) -> None:
    route = _route(backends=[{"name": "a", "model": "m", "endpoints": [endpoint]}])
    config = RouterConfig.model_validate({"routes": [route]})
    assert config.routes[0].backends[0].endpoints == (endpoint,)


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    path.write_text(json.dumps({"routes": [_route()]}), encoding="utf-8")
    config = load_config(path)
    assert [b.weight for b in config.routes[0].backends] == [80, 20]


def test_load_config_rejects_broken_json(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    path.write_text('{"routes": [', encoding="utf-8")
    with pytest.raises(ValueError):
        load_config(path)
