"""With watchNamespaces the operator handles only objects of those namespaces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest

from slmfleet.config import watch_namespaces, watched
from slmfleet.handlers.gpuclass import users
from slmfleet.handlers.runtime import Runtime

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    watch_namespaces([])


class Models:
    """The cache of a runtime that holds two models using class l4."""

    @property
    def cache(self) -> Models:
        return self

    def smallmodels(self) -> list[dict[str, Any]]:
        return [
            {"metadata": {"name": n, "namespace": ns}, "spec": {"gpuClassName": "l4"}}
            for n, ns in (("a", "team-a"), ("b", "team-b"))
        ]


def test_everything_is_watched_cluster_wide() -> None:
    watch_namespaces([])
    assert watched("kube-system") and watched("team-a")
    assert [m["metadata"]["name"] for m in users(cast(Runtime, Models()), "l4")] == ["a", "b"]


def test_only_the_named_namespaces_are_watched() -> None:
    watch_namespaces(["team-a"])
    assert watched("team-a") and not watched("team-b")
    # A GPUClass re-plans only the models its roles reach.
    assert [m["metadata"]["name"] for m in users(cast(Runtime, Models()), "l4")] == ["a"]
