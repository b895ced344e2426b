"""A re-listed object that did not change enqueues nothing; changes and deletions do."""

from __future__ import annotations

import pytest

from slmfleet.cache.seen import Seen

pytestmark = pytest.mark.unit


def obj(rv: str, uid: str = "u1") -> dict[str, dict[str, str]]:
    return {"metadata": {"uid": uid, "resourceVersion": rv, "name": "m", "namespace": "t"}}


def test_only_new_versions_and_deletions_are_changes() -> None:
    seen = Seen()
    assert seen.changed("SmallModel", obj("1"), None)  # first listing
    assert not seen.changed("SmallModel", obj("1"), None)  # the same object listed again
    assert seen.changed("SmallModel", obj("2"), "MODIFIED")
    assert not seen.changed("SmallModel", obj("2"), "MODIFIED")
    assert seen.changed("Pod", obj("2"), None)  # kinds are apart
    assert seen.changed("SmallModel", obj("2"), "DELETED")
    assert seen.changed("SmallModel", obj("2"), None)  # forgotten with the deletion
    assert seen.changed("SmallModel", obj("1", uid="u2"), None)  # another object
    assert len(seen) == 3
