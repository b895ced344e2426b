"""ModelRoutes + SmallModels + EndpointSlices -> RouterConfig and ModelRoute status (pure)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from slmfleet.api.modelroute import parse_modelroute
from slmfleet.reconcile.backend_policy import key_env_name
from slmfleet.reconcile.endpoints import merge_endpoints, ready_endpoints, ready_pod_endpoints
from slmfleet.reconcile.modelroute import implicit_route, needs_router, plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget

pytestmark = pytest.mark.unit

SMALL = ModelTarget("qwen-small", "qwen3-small", "qwen-small", "abc123")
LARGE = ModelTarget("qwen-large", "qwen3-large", "qwen-large", "def456")
ENDPOINTS = {"qwen-small": ("127.1.0.5:8000", "127.1.0.6:8000"), "qwen-large": ("127.1.0.9:8000",)}


def route(name: str, **spec: Any) -> Any:
    return parse_modelroute(
        {"metadata": {"name": name, "namespace": "ns", "uid": "u"}, "spec": spec}
    )


def ref(name: str, model: str, weight: int = 100) -> dict[str, Any]:
    return {"name": name, "smallModelRef": {"name": model}, "weight": weight}


def eps(service: str, *endpoints: tuple[str, bool | None], port: int = 8000) -> dict[str, Any]:
    items = []
    for address, ready in endpoints:
        conditions = {} if ready is None else {"ready": ready}
        items.append({"addresses": [address], "conditions": conditions})
    return {
        "metadata": {"labels": {"kubernetes.io/service-name": service}},
        "ports": [{"name": "metrics", "port": 9000}, {"name": "http", "port": port}],
        "endpoints": items,
    }


@pytest.mark.parametrize(
    ("slices", "expected"),
    [
        # ready unset counts as ready (the API's rule); ready False is left out.
        ([eps("a", ("10.0.0.2", True), ("10.0.0.1", None), ("10.0.0.3", False))],
         {"a": ("10.0.0.1:8000", "10.0.0.2:8000")}),
        # Two slices of one Service are merged; the http port is used, not the first.
        ([eps("a", ("10.0.0.1", True)), eps("a", ("10.0.0.7", True))],
         {"a": ("10.0.0.1:8000", "10.0.0.7:8000")}),
        ([eps("b", ("fd00::1", True), port=8001)], {"b": ("[fd00::1]:8001",)}),
        ([eps("c", ("10.0.0.3", False))], {"c": ()}),
        ([{"metadata": {"labels": {}}, "ports": [{"port": 1}], "endpoints": []}], {}),
    ],
)  # fmt: skip
def test_ready_endpoints(slices: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert ready_endpoints(slices) == expected


def test_a_model_without_a_route_is_served_under_its_own_name() -> None:
    plan = plan_namespace([], [SMALL, LARGE], ENDPOINTS)
    names = [r.name for r in plan.config.routes]
    assert names == ["qwen3-large", "qwen3-small"]
    small = plan.config.route("qwen3-small")
    assert small is not None
    backend = small.backends[0]
    assert (backend.model, backend.revision, backend.endpoints) == (
        "qwen3-small", "abc123", ("127.1.0.5:8000", "127.1.0.6:8000"))  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "implicit_kept"),
    [
        # An alias without headers claims the served name: no implicit route beside it.
        ({"match": {"model": "qwen3-small"}, "backends": [ref("a", "qwen-small")]}, False),
        # With headers the route only takes some requests; the implicit route serves the rest.
        ({"match": {"model": "qwen3-small", "headers": {"x-tenant": "acme"}},
          "backends": [ref("a", "qwen-large")]}, True),
        ({"match": {"model": "triage"}, "backends": [ref("a", "qwen-small")]}, True),
    ],
)  # fmt: skip
def test_implicit_routes_give_way_to_claiming_routes(
    spec: dict[str, Any], implicit_kept: bool
) -> None:
    plan = plan_namespace([route("r", **spec)], [SMALL, LARGE], ENDPOINTS)
    assert (plan.config.route("qwen3-small") is not None) is implicit_kept
    assert plan.config.route("r") is not None


def test_weights_fallback_and_status_counts() -> None:
    spec = {
        "match": {"model": "triage", "headers": {"X-Tenant": "acme"}},
        "backends": [ref("small", "qwen-small", 80),
                     {**ref("large", "qwen-large", 20), "timeoutSeconds": 4},
                     ref("gone", "missing", 0)],
        "fallback": ["large", "gone"],
        "retries": 2,
        "timeoutSeconds": 12,
    }  # fmt: skip
    plan = plan_namespace([route("triage-acme", **spec)], [SMALL, LARGE], ENDPOINTS)
    routed = plan.config.route("triage-acme")
    assert routed is not None
    assert [(b.name, b.weight, len(b.endpoints)) for b in routed.backends] == [
        ("small", 80, 2), ("large", 20, 1)]  # fmt: skip
    assert routed.fallback == ("large",)  # the missing SmallModel is dropped
    assert [b.timeout_seconds for b in routed.backends] == [None, 4]
    assert routed.match.headers == {"x-tenant": "acme"}
    assert (routed.retries, routed.timeout_seconds) == (2, 12)
    outcome = plan.outcomes["triage-acme"]
    assert outcome.verdict.ready and outcome.verdict.message == "2/3 backends available"
    assert outcome.status["models"] == ["triage-acme", "triage"]
    assert [b["readyEndpoints"] for b in outcome.status["backends"]] == [2, 1]
    assert outcome.status["unavailable"] == [
        {"name": "gone", "reason": "SmallModelNotFound",
         "message": "SmallModel 'missing' does not exist in this namespace"}]  # fmt: skip


@pytest.mark.parametrize(
    ("backends", "endpoints", "ready", "reason", "stalled"),
    [
        ([ref("a", "qwen-small")], ENDPOINTS, True, "Resolved", False),
        ([ref("a", "qwen-small")], {}, False, "WaitingForEndpoints", False),
        ([ref("a", "nope")], ENDPOINTS, False, "NoBackends", True),
        # Only a zero-weight backend resolves: nothing takes first attempts.
        ([ref("a", "nope"), ref("b", "qwen-small", 0)], ENDPOINTS, False, "NoBackends", True),
        # One of two weighted backends is ready: the route serves.
        ([ref("a", "qwen-large"), ref("b", "qwen-small")], {"qwen-small": ("1.2.3.4:8000",)},
         True, "Resolved", False),
    ],
)  # fmt: skip
def test_verdicts(
    backends: list[dict[str, Any]], endpoints: dict[str, Any], ready: bool, reason: str,
    stalled: bool,
) -> None:  # fmt: skip
    outcome = plan_namespace([route("r", backends=backends)], [SMALL, LARGE], endpoints).outcomes[
        "r"
    ]
    assert (outcome.verdict.ready, outcome.verdict.reason, outcome.verdict.stalled) == (
        ready, reason, stalled)  # fmt: skip


def test_a_stalled_route_is_not_served() -> None:
    plan = plan_namespace([route("r", backends=[ref("a", "nope")])], [], {})
    assert plan.config.routes == ()


def test_url_backend_with_key_and_cascade() -> None:
    spec = {
        "backends": [
            ref("small", "qwen-small"),
            {"name": "hosted", "url": "https://api.example.com/v1", "model": "big",
             "apiKeySecretRef": {"name": "hosted-key", "key": "token"}, "weight": 0},
        ],
        "cascade": {"tiers": ["small", "hosted"], "regex": "^(yes|no)$",
                    "maxEscalationFraction": 0.25, "windowSeconds": 30},
    }  # fmt: skip
    usable = {"hosted-key": {"slmfleet.io/usable-by": "router"}}
    plan = plan_namespace([route("support", **spec)], [SMALL], ENDPOINTS, {}, usable)
    routed = plan.config.route("support")
    assert routed is not None and routed.cascade is not None
    hosted = routed.backend("hosted")
    assert hosted is not None
    env = "SLMFLEET_KEY_SUPPORT_HOSTED"
    assert key_env_name("support", "hosted") == env
    assert (hosted.url, hosted.model, hosted.api_key_env) == (
        "https://api.example.com/v1",
        "big",
        env,
    )
    assert [(s.env, s.secret, s.key) for s in plan.secrets] == [(env, "hosted-key", "token")]
    cascade = routed.cascade
    assert (cascade.tiers, cascade.regex, cascade.max_escalation_fraction, cascade.window_seconds) == (
        ("small", "hosted"), "^(yes|no)$", 0.25, 30.0)  # fmt: skip


def test_a_cascade_tier_whose_model_is_missing_leaves_the_cascade_out() -> None:
    spec = {"backends": [ref("small", "qwen-small"), ref("large", "absent")],
            "cascade": {"tiers": ["small", "large"]}}  # fmt: skip
    routed = plan_namespace([route("c", **spec)], [SMALL], ENDPOINTS).config.route("c")
    assert routed is not None and routed.cascade is None


def test_a_shadow_reaches_the_router_while_its_backend_resolves() -> None:
    spec = {"backends": [ref("small", "qwen-small"), ref("large", "absent", 0)],
            "shadow": {"backend": "small", "percent": 25}}  # fmt: skip
    routed = plan_namespace([route("s", **spec)], [SMALL], ENDPOINTS).config.route("s")
    assert routed is not None and routed.shadow is not None
    assert (routed.shadow.backend, routed.shadow.percent) == ("small", 25)
    spec["shadow"] = {"backend": "large", "percent": 25}
    routed = plan_namespace([route("s", **spec)], [SMALL], ENDPOINTS).config.route("s")
    assert routed is not None and routed.shadow is None


def test_a_shadow_must_name_a_backend_of_the_route() -> None:
    with pytest.raises(ValueError, match="shadow names a backend the route does not have"):
        route("s", backends=[ref("small", "qwen-small")], shadow={"backend": "x", "percent": 5})


@pytest.mark.parametrize(
    ("extra", "stalled", "reason"),
    [
        ({}, False, "Resolved"),
        ({"cascade": {"tiers": ["a", "b"]}}, True, "NeedsRouter"),
    ],
)
def test_gateway_api_routes_are_not_in_the_router(
    extra: dict[str, Any], stalled: bool, reason: str
) -> None:
    spec = {"provider": "gateway-api", "parentRefs": [{"name": "gw"}],
            "backends": [ref("a", "qwen-small"), ref("b", "qwen-large")], **extra}  # fmt: skip
    plan = plan_namespace([route("g", **spec)], [SMALL, LARGE], ENDPOINTS)
    assert plan.config.route("g") is None
    outcome = plan.outcomes["g"]
    assert (outcome.verdict.stalled, outcome.verdict.reason) == (stalled, reason)


def test_implicit_route_without_endpoints_is_kept_for_scale_from_zero() -> None:
    assert implicit_route(SMALL, {}).backends[0].endpoints == ()


def pod(
    model: str, ip: str, ready: str = "True", phase: str = "Running", **meta: Any
) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"slmfleet.io/model": model}, **meta},
        "spec": {"containers": [{"ports": [{"name": "http", "containerPort": 8000}]}]},
        "status": {"phase": phase, "podIP": ip, "conditions": [{"type": "Ready", "status": ready}]},
    }


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        ([pod("m", "127.1.0.2"), pod("m", "127.1.0.1")], {"m": ("127.1.0.1:8000", "127.1.0.2:8000")}),
        ([pod("m", "127.1.0.2", ready="False"), pod("m", "127.1.0.3", phase="Pending")], {}),
        ([pod("m", "127.1.0.2", deletionTimestamp="2026-01-01T00:00:00Z")], {}),
        # A model name with dots gets a hashed Service name; the pod is found under it.
        ([pod("qwen.v1", "10.0.0.1")],
         {"qwen-v1-" + hashlib.sha256(b"qwen.v1").hexdigest()[:5]: ("10.0.0.1:8000",)}),
    ],
)  # fmt: skip
def test_ready_pod_endpoints(pods: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert ready_pod_endpoints(pods) == expected


def test_slices_win_and_empty_slices_fall_back_to_pods() -> None:
    slices = {"a": ("10.0.0.1:8000",), "b": ()}
    pods = {"a": ("10.9.9.9:8000",), "b": ("10.0.0.2:8000",), "c": ("10.0.0.3:8000",)}
    assert merge_endpoints(slices, pods) == {
        "a": ("10.0.0.1:8000",), "b": ("10.0.0.2:8000",), "c": ("10.0.0.3:8000",)}  # fmt: skip


@pytest.mark.parametrize(
    ("routes", "revisions", "want"),
    [
        (0, [], False),  # an empty namespace
        (0, [""], False),  # only a SmallModel that never got a revision (invalid spec)
        (0, ["", "abc"], True),
        (1, [""], True),  # a ModelRoute is there to be served (or to say why it cannot)
    ],
)
def test_needs_router(routes: int, revisions: list[str], want: bool) -> None:
    models = [ModelTarget(f"m{i}", "s", "m", rev) for i, rev in enumerate(revisions)]
    assert needs_router(routes, models) is want
