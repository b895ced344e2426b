"""A canary's split inside one backend: planned from the rollout weights, picked per request."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from slmfleet.reconcile.endpoints import endpoint_host, endpoint_revisions, revision_split
from slmfleet.reconcile.modelroute import plan_namespace
from slmfleet.reconcile.route_backends import ModelTarget
from slmfleet.router.config import Backend, RevisionSplit
from slmfleet.router.routing import revision_endpoints

pytestmark = pytest.mark.unit

READY = {"m": ("127.0.0.1:8000", "127.0.0.2:8000", "127.0.0.3:8000")}
REVISION_OF = {"127.0.0.1": "old", "127.0.0.2": "old", "127.0.0.3": "new"}


def target(*weights: tuple[str, int]) -> ModelTarget:
    return ModelTarget("m", "served", "m", "new", tuple(weights))


@pytest.mark.parametrize(
    ("weights", "revision", "endpoints", "splits"),
    [
        # no rollout weights (replicas provider): every ready endpoint, no split
        ((), "new", READY["m"], ()),
        # nothing rolling: the one revision's endpoints
        ((("old", 100),), "old", ("127.0.0.1:8000", "127.0.0.2:8000"), ()),
        # rolled back: the draining canary pod is out at once
        ((("old", 100), ("new", 0)), "old", ("127.0.0.1:8000", "127.0.0.2:8000"),
         (("old", 100, 2), ("new", 0, 1))),
        # a canary step: both revisions, split by weight
        ((("old", 90), ("new", 10)), "old", READY["m"], (("old", 90, 2), ("new", 10, 1))),
        # the weighted revision has no ready pod yet: whatever is ready serves
        ((("gone", 100),), "gone", READY["m"], ()),
    ],
)  # fmt: skip
def test_revision_split_follows_the_rollout_weights(
    weights: tuple[tuple[str, int], ...],
    revision: str,
    endpoints: tuple[str, ...],
    splits: tuple[tuple[str, int, int], ...],
) -> None:
    got_revision, got_endpoints, got_splits = revision_split(
        "new", weights, READY["m"], REVISION_OF
    )
    assert (got_revision, got_endpoints) == (revision, endpoints)
    assert [(s.revision, s.weight, len(s.endpoints)) for s in got_splits] == list(splits)


def test_plan_namespace_carries_the_split_into_the_implicit_route() -> None:
    plan = plan_namespace([], [target(("old", 75), ("new", 25))], READY, REVISION_OF)
    (backend,) = plan.config.routes[0].backends
    assert [(s.revision, s.weight, s.endpoints) for s in backend.revisions] == [
        ("old", 75, ("127.0.0.1:8000", "127.0.0.2:8000")),
        ("new", 25, ("127.0.0.3:8000",)),
    ]


def split_backend(old: int, new: int, new_endpoints: tuple[str, ...] = ("n:1",)) -> Backend:
    return Backend(
        name="m",
        model="m",
        revision="old",
        endpoints=("o:1", "o:2", *new_endpoints),
        revisions=(
            RevisionSplit(revision="old", weight=old, endpoints=("o:1", "o:2")),
            RevisionSplit(revision="new", weight=new, endpoints=new_endpoints),
        ),
    )


@pytest.mark.parametrize(
    ("old", "new", "rand", "exclude", "want"),
    [
        (90, 10, 0.0, (), "old"),
        (90, 10, 0.899, (), "old"),
        (90, 10, 0.9, (), "new"),  # 0.9 * 100 = 90: past the stable's share
        (90, 10, 0.999, (), "new"),
        (0, 100, 0.0, (), "new"),
        (100, 0, 0.999, (), "old"),
        (10, 90, 0.5, ("n:1",), "old"),  # the canary's only endpoint failed this request
    ],
)
def test_revision_endpoints_pick_by_cumulative_weight(
    old: int, new: int, rand: float, exclude: tuple[str, ...], want: str
) -> None:
    revision, endpoints = revision_endpoints(split_backend(old, new), rand, exclude)
    assert revision == want
    assert endpoints == (("o:1", "o:2") if want == "old" else ("n:1",))


def test_revision_endpoints_split_draws_in_proportion() -> None:
    backend = split_backend(75, 25)
    picks = [revision_endpoints(backend, i / 1000, ())[0] for i in range(1000)]
    assert picks.count("new") == 250


def test_a_weighted_revision_without_endpoints_gives_way() -> None:
    backend = split_backend(50, 50, new_endpoints=())
    assert revision_endpoints(backend, 0.99, ()) == ("old", ("o:1", "o:2"))


def test_without_a_split_the_backend_serves_as_a_whole() -> None:
    backend = Backend(name="m", model="m", revision="r", endpoints=("a:1",))
    assert revision_endpoints(backend, 0.5) == ("r", ("a:1",))


@pytest.mark.parametrize(
    "extra",
    [
        {"url": "http://x", "revisions": [{"revision": "a", "weight": 100}]},
        {"revisions": [{"revision": "a", "weight": 50}, {"revision": "a", "weight": 50}]},
        {"revisions": [{"revision": "a", "weight": 100, "endpoints": ["nope"]}]},
    ],
)
def test_bad_splits_are_refused(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Backend.model_validate({"name": "m", "model": "m", **extra})


def test_endpoint_revisions_skip_pods_being_deleted() -> None:
    def pod(ip: str, rev: str, deleting: bool = False) -> dict[str, object]:
        meta: dict[str, object] = {"labels": {"slmfleet.io/revision": rev}}
        if deleting:
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return {"metadata": meta, "status": {"podIP": ip}}

    pods = [pod("10.0.0.1", "a"), pod("10.0.0.2", "b", deleting=True), pod("fd00::1", "c")]
    assert endpoint_revisions(pods) == {"10.0.0.1": "a", "fd00::1": "c"}
    assert endpoint_host("[fd00::1]:8000") == "fd00::1"
    assert endpoint_host("10.0.0.1:8000") == "10.0.0.1"


def test_a_shadow_step_marks_the_canary_split_for_mirroring() -> None:
    shadowing = ModelTarget("m", "served", "m", "new", (("old", 100), ("new", 0)), ("new", 20.0))
    plan = plan_namespace([], [shadowing], READY, REVISION_OF)
    (backend,) = plan.config.routes[0].backends
    assert backend.endpoints == ("127.0.0.1:8000", "127.0.0.2:8000")  # served by stable only
    assert [(s.revision, s.weight, s.mirror_percent) for s in backend.revisions] == [
        ("old", 100, 0),
        ("new", 0, 20.0),
    ]
