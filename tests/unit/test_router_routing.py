"""Pure routing decisions: route selection, weighted backend choice, endpoint choice, attempts."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.router.config import EndpointPolicy, Route, RouterConfig
from slmfleet.router.routing import (
    NoBackendError,
    cascade_attempts,
    find_backend,
    pick_backend,
    pick_endpoint,
    plan_attempts,
    select_route,
    served_model_names,
)

pytestmark = pytest.mark.unit


def _backends(*weights: int) -> list[dict[str, Any]]:
    return [{"name": "abcdef"[i], "model": f"m{i}", "weight": w} for i, w in enumerate(weights)]


def _route(weights: tuple[int, ...], **extra: Any) -> Route:
    return Route.model_validate({"name": "r", "backends": _backends(*weights), **extra})


CONFIG = RouterConfig.model_validate(
    {
        "routes": [
            {"name": "triage", "match": {"model": "support-triage"}, "backends": _backends(1)},
            {
                "name": "triage-acme",
                "match": {"model": "support-triage", "headers": {"X-Tenant": "acme"}},
                "backends": _backends(1),
            },
            {
                "name": "triage-acme-eu",
                "match": {
                    "model": "support-triage",
                    "headers": {"x-tenant": "acme", "x-region": "eu"},
                },
                "backends": _backends(1),
            },
            {"name": "summarize", "backends": _backends(1)},
        ]
    }
)


@pytest.mark.parametrize(
    ("model", "headers", "expected"),
    [
        ("support-triage", {}, "triage"),
        ("support-triage", {"X-Tenant": "acme"}, "triage-acme"),
        ("support-triage", {"x-tenant": "acme", "X-Region": "eu"}, "triage-acme-eu"),
        ("support-triage", {"x-tenant": "acme", "x-region": "us"}, "triage-acme"),
        ("support-triage", {"x-tenant": "ACME"}, "triage"),  # values match exactly
        ("support-triage", {"x-other": "1"}, "triage"),
        ("triage-acme", {}, None),  # addressed by name, but its header is missing
        ("triage-acme", {"x-tenant": "acme"}, "triage-acme"),
        ("triage", {"x-tenant": "acme"}, "triage"),
        ("summarize", {}, "summarize"),
        ("unknown", {}, None),
        ("", {}, None),
    ],
)
def test_select_route(model: str, headers: dict[str, str], expected: str | None) -> None:
    route = select_route(CONFIG, model, headers)
    assert (route.name if route else None) == expected


def test_served_model_names_lists_names_and_aliases_once() -> None:
    assert served_model_names(CONFIG) == (
        "triage",
        "support-triage",
        "triage-acme",
        "triage-acme-eu",
        "summarize",
    )


@pytest.mark.parametrize(
    ("weights", "rand", "expected"),
    [
        # 80/20: [0, 0.8) -> a, [0.8, 1) -> b.
        ((80, 20), 0.0, "a"),
        ((80, 20), 0.79, "a"),
        ((80, 20), 0.8, "b"),
        ((80, 20), 0.9999, "b"),
        # 0/50/50: a can never be drawn; [0, 0.5) -> b, [0.5, 1) -> c.
        ((0, 50, 50), 0.0, "b"),
        ((0, 50, 50), 0.4999, "b"),
        ((0, 50, 50), 0.5, "c"),
        # 1/2/3 of 6: a below 1/6, b below 3/6, c above; 0.2 * 6 = 1.2 -> b, 0.5 * 6 = 3 -> c.
        ((1, 2, 3), 0.16, "a"),
        ((1, 2, 3), 0.2, "b"),
        ((1, 2, 3), 0.5, "c"),
        ((100, 0), 0.999, "a"),
    ],
)
def test_pick_backend_by_cumulative_weight(
    weights: tuple[int, ...], rand: float, expected: str
) -> None:
    assert pick_backend(_route(weights), rand).name == expected


@pytest.mark.parametrize(
    ("weights", "share_a"), [((80, 20), 8000), ((50, 50), 5000), ((1, 3), 2500)]
)
def test_pick_backend_splits_uniform_draws_in_proportion(
    weights: tuple[int, int], share_a: int
) -> None:
    # 10,000 evenly spaced draws (i + 0.5) / 10,000: a takes those below wa / (wa + wb).
    route = _route(weights)
    picks = [pick_backend(route, (i + 0.5) / 10_000).name for i in range(10_000)]
    assert picks.count("a") == share_a


@pytest.mark.parametrize("weights", [(0,), (0, 0)])
def test_pick_backend_with_zero_total_weight_is_an_error(weights: tuple[int, ...]) -> None:
    with pytest.raises(NoBackendError):
        pick_backend(_route(weights), 0.5)


@pytest.mark.parametrize("rand", [-0.1, 1.0, 2.0])
def test_pick_backend_rejects_draws_outside_unit_interval(rand: float) -> None:
    with pytest.raises(ValueError, match="rand must be"):
        pick_backend(_route((1,)), rand)


LEAST = EndpointPolicy.LEAST_IN_FLIGHT
RR = EndpointPolicy.ROUND_ROBIN
EPS = ("a:1", "b:1", "c:1")


@pytest.mark.parametrize(
    ("endpoints", "in_flight", "pick", "exclude", "expected"),
    [
        (EPS, {"a:1": 2, "b:1": 1, "c:1": 1}, (LEAST, 0), (), "b:1"),  # b and c tie at 1
        (EPS, {"a:1": 2, "b:1": 1, "c:1": 1}, (LEAST, 1), (), "c:1"),
        (EPS, {"a:1": 2, "b:1": 1, "c:1": 1}, (LEAST, 2), (), "b:1"),  # 2 % 2 -> first of the tie
        (EPS, {"a:1": 2, "b:1": 1, "c:1": 1}, (LEAST, 0), ("b:1",), "c:1"),
        (EPS, {"a:1": 5}, (LEAST, 0), (), "b:1"),  # missing counts are zero
        (EPS, {}, (LEAST, 7), (), "b:1"),  # all tie: 7 % 3 = 1
        (EPS, {"b:1": 1}, (LEAST, 0), EPS, "a:1"),  # all excluded: choose among all again
        (EPS, {"a:1": 9}, (RR, 0), (), "a:1"),  # round robin ignores load
        (EPS, {}, (RR, 4), (), "b:1"),  # 4 % 3 = 1
        (EPS, {}, (RR, 4), ("a:1",), "b:1"),  # candidates b, c: 4 % 2 = 0 -> b
        (EPS, {}, (RR, 5), ("a:1",), "c:1"),  # 5 % 2 = 1 -> c
        ((), {}, (LEAST, 0), (), None),
        ((), {}, (RR, 3), (), None),
    ],
)
def test_pick_endpoint(
    endpoints: tuple[str, ...],
    in_flight: dict[str, int],
    pick: tuple[EndpointPolicy, int],
    exclude: tuple[str, ...],
    expected: str | None,
) -> None:
    policy, counter = pick
    assert pick_endpoint(endpoints, in_flight, policy, counter, exclude) == expected


@pytest.mark.parametrize(
    ("retries", "fallback", "primary", "expected"),
    [
        (0, (), "a", ("a",)),
        (0, ("b", "c"), "a", ("a", "b", "c")),
        (1, ("b",), "a", ("a", "a", "b", "b")),
        (2, (), "b", ("b", "b", "b")),
        (0, ("a", "b", "b"), "a", ("a", "b")),  # primary and repeats appear once
        (1, ("c", "a"), "b", ("b", "b", "c", "c", "a", "a")),
    ],
)
def test_plan_attempts(
    retries: int, fallback: tuple[str, ...], primary: str, expected: tuple[str, ...]
) -> None:
    route = _route((1, 1, 1), retries=retries, fallback=list(fallback))
    assert plan_attempts(route, primary) == expected


@pytest.mark.parametrize(("retries", "expected"), [(0, ("b",)), (2, ("b", "b", "b"))])
def test_cascade_attempts_repeat_the_tier(retries: int, expected: tuple[str, ...]) -> None:
    assert cascade_attempts(_route((1, 1), retries=retries), "b") == expected


@pytest.mark.parametrize(
    ("route", "backend", "model"),
    [("triage", "a", "m0"), ("triage", "b", None), ("nope", "a", None)],
)
def test_find_backend(route: str, backend: str, model: str | None) -> None:
    found = find_backend(CONFIG, route, backend)
    assert (found.model if found else None) == model
