"""Which engine Deployments count as a SmallModel's own (the rest are leftovers or going)."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.handlers.observe import owned_by

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("meta", "uid", "want"),
    [
        ({"ownerReferences": [{"uid": "u1"}]}, "u1", True),
        ({"ownerReferences": [{"uid": "u0"}]}, "u1", False),  # an earlier model of this name
        ({"ownerReferences": [{"uid": "u1"}], "deletionTimestamp": "t"}, "u1", False),
        ({}, "u1", True),  # no owner recorded: not ours to disown
        ({"ownerReferences": [{"uid": "u0"}]}, None, True),  # no uid to compare with
    ],
)
def test_owned_by(meta: dict[str, Any], uid: str | None, want: bool) -> None:
    assert owned_by(meta, uid) is want
