"""url backends: https only unless insecure, labelled Secrets only, allowed hosts only; a refused
route never starts and never blocks the namespace's other routes."""

from __future__ import annotations

from typing import Any

import pytest
from test_reconcile_modelroute import ENDPOINTS, SMALL, ref, route

from slmfleet.api.errors import SpecError
from slmfleet.reconcile.backend_policy import host_allowed, usable_by_router
from slmfleet.reconcile.modelroute import plan_namespace

pytestmark = pytest.mark.unit

LABEL = "slmfleet.io/usable-by"


def hosted(url: str = "https://api.example.com/v1", **extra: Any) -> dict[str, Any]:
    return {"name": "hosted", "url": url, "model": "big",
            "apiKeySecretRef": {"name": "key", "key": "token"}, **extra}  # fmt: skip


def plan(labels: dict[str, Any], allowed: tuple[str, ...] = (), **backend: Any) -> Any:
    routes = [
        route("external", backends=[hosted(**backend)]),
        route("local", backends=[ref("small", "qwen-small")]),
    ]
    return plan_namespace(routes, [SMALL], ENDPOINTS, {}, labels, allowed)


@pytest.mark.parametrize(
    ("labels", "allowed", "reason", "named"),
    [
        ({}, (), "SecretNotFound", "Secret 'key' does not exist"),
        ({"key": {}}, (), "SecretNotUsable", "Secret 'key' is not labelled"),
        ({"key": {LABEL: "gateway"}}, (), "SecretNotUsable", "slmfleet.io/usable-by=router"),
        ({"key": {LABEL: "router"}}, ("llm.example.com",), "HostNotAllowed", "'api.example.com'"),
        ({"key": {LABEL: "router"}}, ("*.example.org",), "HostNotAllowed", "not in the"),
    ],
)
def test_a_refused_route_stalls_and_nothing_starts_with_it(
    labels: dict[str, Any], allowed: tuple[str, ...], reason: str, named: str
) -> None:
    result = plan(labels, allowed)
    verdict = result.outcomes["external"].verdict
    assert (verdict.ready, verdict.stalled, verdict.reason) == (False, True, reason)
    assert named in verdict.message
    assert result.config.route("external") is None
    assert result.secrets == ()  # the router gets no secretKeyRef, so its pods still start
    # The namespace's other route is served as before.
    assert result.config.route("local") is not None
    assert result.outcomes["local"].verdict.ready


@pytest.mark.parametrize(
    ("labels", "allowed"),
    [
        ({"key": {LABEL: "router"}}, ()),
        ({"key": {LABEL: "gateway, router"}}, ("api.example.com",)),
        ({"key": {LABEL: "router"}}, ("*.example.com",)),
    ],
)
def test_an_allowed_route_gets_its_secret(labels: dict[str, Any], allowed: tuple[str, ...]) -> None:
    result = plan(labels, allowed)
    assert result.config.route("external") is not None
    assert [(s.secret, s.key) for s in result.secrets] == [("key", "token")]


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://api.example.com/v1", (), True),
        ("https://api.example.com/v1", ("api.example.com",), True),
        ("https://API.Example.com:8443/v1", ("api.example.com",), True),
        ("https://api.example.com.evil.net/v1", ("api.example.com",), False),
        ("https://x.example.com/v1", ("*.example.com",), True),
        ("https://example.com/v1", ("*.example.com",), False),
        ("https://evilexample.com/v1", ("*.example.com",), False),
        ("https://user@evil.net/v1", ("example.com",), False),
    ],
)
def test_host_allow_list(url: str, allowed: tuple[str, ...], ok: bool) -> None:
    assert host_allowed(url, allowed) is ok


def test_usable_by_lists() -> None:
    assert usable_by_router({LABEL: "router"})
    assert usable_by_router({LABEL: "gateway,router"})
    assert not usable_by_router({LABEL: "routers"})
    assert not usable_by_router({"app": "router"})


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (hosted("http://api.example.com/v1"), "url must use https:// unless"),
        ({**ref("small", "qwen-small"), "insecure": True}, "insecure applies only to url"),
    ],
)
def test_plain_http_needs_the_insecure_flag(backend: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        route("r", backends=[backend])


def test_http_with_insecure_is_allowed() -> None:
    result = plan({"key": {LABEL: "router"}}, url="http://api.example.com/v1", insecure=True)
    assert result.config.route("external") is not None
