"""The ownership check before a forced apply or a delete: a user's object is never touched."""

from __future__ import annotations

from typing import Any, cast

import pytest

from slmfleet import FIELD_MANAGER
from slmfleet.k8s import Kube
from slmfleet.ownership import NameConflictError, apply_owned, delete_owned, owned_by_us

pytestmark = pytest.mark.unit

UID = "uid-model"


def obj(name: str = "qwen", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "team", **meta}}  # fmt: skip


OURS_REF = {"ownerReferences": [{"uid": UID, "kind": "SmallModel", "name": "qwen"}]}


@pytest.mark.parametrize(
    ("existing", "owners", "ours"),
    [
        (None, [UID], True),  # nothing there: creating it is fine
        (obj(**OURS_REF), [UID], True),
        (obj(labels={"app.kubernetes.io/managed-by": "slmfleet"}), [], True),
        (obj(managedFields=[{"manager": FIELD_MANAGER, "operation": "Apply"}]), [], True),
        (obj(), [UID], False),  # a user's Service of the model's name
        (obj(labels={"app.kubernetes.io/managed-by": "Helm"}), [UID], False),
        (obj(ownerReferences=[{"uid": "someone-else"}]), [UID], False),
        (obj(managedFields=[{"manager": "kubectl-client-side-apply"}]), [UID], False),
    ],
)
def test_owned_by_us(existing: dict[str, Any] | None, owners: list[str], ours: bool) -> None:
    assert owned_by_us(existing, owners) is ours


class FakeKube:
    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.objects = objects
        self.applied: list[str] = []
        self.deleted: list[str] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    def apply(self, o: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(o["metadata"]["name"])
        return o

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        self.deleted.append(name)
        return True


def test_one_conflict_and_nothing_is_applied() -> None:
    kube = FakeKube({("Service", "user-svc"): obj("user-svc")})
    desired = [obj("ours", **OURS_REF), obj("user-svc", **OURS_REF)]
    with pytest.raises(NameConflictError, match="Service team/user-svc exists and is not managed"):
        apply_owned(cast(Kube, kube), desired)
    assert kube.applied == []


def test_ours_and_missing_objects_are_applied() -> None:
    kube = FakeKube({("Service", "ours"): obj("ours", **OURS_REF)})
    apply_owned(cast(Kube, kube), [obj("ours", **OURS_REF), obj("new", **OURS_REF)])
    assert kube.applied == ["ours", "new"]


def test_delete_only_what_is_ours() -> None:
    kube = FakeKube(
        {("Service", "user"): obj("user"), ("Service", "ours"): obj("ours", **OURS_REF)}
    )
    with pytest.raises(NameConflictError):
        delete_owned(cast(Kube, kube), "Service", "user", "team", [UID])
    assert delete_owned(cast(Kube, kube), "Service", "ours", "team", [UID]) is True
    assert delete_owned(cast(Kube, kube), "Service", "gone", "team", [UID]) is False
    assert kube.deleted == ["ours"]
