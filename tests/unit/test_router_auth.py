"""Per-route client API keys: in the router, and from the ModelRoute's labelled Secret."""

from __future__ import annotations

import pytest
from test_reconcile_modelroute import ENDPOINTS, SMALL, ref, route
from test_router_server import FakeBackend, backend, chat, config, router, serving

from slmfleet.reconcile.modelroute import plan_namespace

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ENV = "SLMFLEET_CLIENT_KEYS_TRIAGE"


@pytest.mark.parametrize(
    ("keys", "authorization", "status"),
    [
        ("k-one\nk-two\n", "Bearer k-two", 200),
        ("k-one\nk-two\n", "Bearer k-three", 401),
        ("k-one", "bearer k-one", 200),
        ("k-one", "", 401),
        ("k-one", "Basic k-one", 401),
        ("k-one", "Bearer k-on", 401),
        ("", "Bearer ", 401),  # no keys configured: nobody gets in
    ],
)
async def test_a_route_with_keys_answers_only_their_holders(
    keys: str, authorization: str, status: int
) -> None:
    fake = FakeBackend("a")
    async with serving(fake) as (endpoint,):
        routes = [{"name": "triage", "clientKeysEnv": ENV, "backends": [backend("a", [endpoint])]}]
        async with router(config(routes), env={ENV: keys}) as (client, _):
            headers = {"Authorization": authorization} if authorization else {}
            response = await client.post("/v1/chat/completions", json=chat("hi"), headers=headers)
    assert response.status == status
    if status == 200:  # the client's key never travels on to the backend
        ((sent_headers, _),) = fake.requests
        assert "k-" not in sent_headers.get("Authorization", "")
    else:
        assert fake.requests == []


async def test_a_route_without_keys_is_open() -> None:
    fake = FakeBackend("a")
    async with serving(fake) as (endpoint,):
        routes = [{"name": "triage", "backends": [backend("a", [endpoint])]}]
        async with router(config(routes), env={}) as (client, _):
            response = await client.post("/v1/chat/completions", json=chat("hi"))
    assert response.status == 200


def test_the_operator_hands_the_labelled_key_secret_to_the_route() -> None:
    spec = {"backends": [ref("small", "qwen-small")],
            "clientKeySecretRef": {"name": "keys", "key": "list"}}  # fmt: skip
    labels = {"keys": {"slmfleet.io/usable-by": "router"}}
    plan = plan_namespace([route("support", **spec)], [SMALL], ENDPOINTS, {}, labels)
    routed = plan.config.route("support")
    assert routed is not None and routed.client_keys_env == "SLMFLEET_CLIENT_KEYS_SUPPORT"
    assert [(s.env, s.secret, s.key) for s in plan.secrets] == [
        ("SLMFLEET_CLIENT_KEYS_SUPPORT", "keys", "list")
    ]


def test_gateway_api_cannot_check_keys() -> None:
    spec = {"backends": [ref("small", "qwen-small")], "provider": "gateway-api",
            "parentRefs": [{"name": "gw"}], "clientKeySecretRef": {"name": "k", "key": "l"}}  # fmt: skip
    labels = {"k": {"slmfleet.io/usable-by": "router"}}
    plan = plan_namespace([route("support", **spec)], [SMALL], ENDPOINTS, {}, labels)
    verdict = plan.outcomes["support"].verdict
    assert (verdict.stalled, verdict.reason) == (True, "NeedsRouter")
    assert "clientKeySecretRef" in verdict.message
