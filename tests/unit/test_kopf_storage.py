"""The operator builds no kopf diff-base, which is sound only while it has no changing handlers."""

from __future__ import annotations

import kopf
import pytest

import slmfleet.main  # noqa: F401  (registers every handler)
from slmfleet.kopf_storage import NoDiffBase

pytestmark = pytest.mark.unit


def test_no_handler_needs_a_diff_base() -> None:
    registry = kopf.get_default_registry()
    assert registry._changing._handlers == []  # on.create/update/field/...: a diff-base's users
    assert registry._spawning._handlers == []  # daemons and timers (reset by diffs)
    assert registry._watching._handlers  # the watch handlers it does have


def test_the_storage_builds_keeps_and_finds_nothing() -> None:
    body = kopf.Body({"metadata": {"name": "m", "annotations": {"a": "b"}}, "spec": {"x": 1}})
    storage = NoDiffBase()
    assert storage.build(body=body) == {}
    assert storage.fetch(body=body) is None
    patch = kopf.Patch()
    storage.store(body=body, patch=patch, essence=kopf.BodyEssence(spec={"x": 1}))
    assert not patch  # nothing written on the object
