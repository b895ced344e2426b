"""The spec patch of a manual rollback, and finding a revision in history."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api.rollout_status import HistoryEntry
from slmfleet.rollout.history import push, resolve, restore_patch

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("current", "target", "want"),
    [
        # a key added since is deleted, a changed one is set back
        ({"maxModelLen": 2048, "dtype": "float16"}, {"dtype": "auto"},
         {"maxModelLen": None, "dtype": "auto"}),
        # nested maps are patched key by key, lists replaced whole
        ({"engine": {"extraArgs": ["--a", "--b"], "image": "x"}}, {"engine": {"extraArgs": ["--a"]}},
         {"engine": {"extraArgs": ["--a"], "image": None}}),
        # replicas belong to the scaler: never restored, never deleted
        ({"replicas": 5, "dtype": "auto"}, {"replicas": 1, "dtype": "auto"}, {}),
        ({"replicas": 5}, {}, {}),
    ],
)  # fmt: skip
def test_restore_patch(
    current: dict[str, Any], target: dict[str, Any], want: dict[str, Any]
) -> None:
    assert restore_patch(current, target) == want


def entries(*revs: str) -> tuple[HistoryEntry, ...]:
    return tuple(HistoryEntry(revision=r, spec={"r": r}) for r in revs)


@pytest.mark.parametrize(
    ("history", "new", "limit", "want"),
    [
        (entries("b", "a"), "c", 5, ["c", "b", "a"]),
        (entries("b", "a"), "c", 2, ["c", "b"]),  # the oldest falls off
        (entries("b", "a"), "a", 5, ["a", "b"]),  # a revision served again moves to the front
    ],
)
def test_push(history: tuple[HistoryEntry, ...], new: str, limit: int, want: list[str]) -> None:
    pushed = push(history, HistoryEntry(revision=new, spec={}), limit)
    assert [h.revision for h in pushed] == want


@pytest.mark.parametrize(
    ("target", "want"), [("0", "c"), ("2", "a"), ("b", "b"), ("3", None), ("zz", None)]
)
def test_resolve(target: str, want: str | None) -> None:
    found = resolve(entries("c", "b", "a"), target)
    assert (found.revision if found else None) == want
