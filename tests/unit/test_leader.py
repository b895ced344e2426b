"""Leader election: who may take or keep the Lease, and when (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slmfleet.leader import claim

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def lease(holder: str, renewed_ago: float, transitions: int = 0) -> dict[str, Any]:
    stamp = (NOW - timedelta(seconds=renewed_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                     "renewTime": stamp, "leaseTransitions": transitions}}  # fmt: skip


@pytest.mark.parametrize(
    ("current", "me", "takes", "transitions"),
    [
        (None, "a", True, 0),  # no Lease yet: the first replica leads
        (lease("a", 5), "a", True, None),  # the holder renews
        (lease("b", 5), "a", False, None),  # a fresh Lease of another: stand by
        (lease("b", 14.9), "a", False, None),
        (lease("b", 15.1, transitions=2), "a", True, 3),  # expired: take over
        (lease("", 0), "a", True, 0),  # released
    ],
)
def test_claim(
    current: dict[str, Any] | None, me: str, takes: bool, transitions: int | None
) -> None:
    got = claim(current, me, NOW)
    assert (got is not None) is takes
    if got is not None:
        assert got.spec["holderIdentity"] == me
        assert got.spec["renewTime"].startswith("2026-01-01T12:00:00")
        assert got.spec.get("leaseTransitions") == transitions
