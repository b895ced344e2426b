"""release-finalizers removes only the operator's finalizer, with the object's resourceVersion."""

from __future__ import annotations

from typing import Any, cast

import pytest

from slmfleet.cli.finalizers import FINALIZER, release_finalizers
from slmfleet.k8s import Kube

pytestmark = pytest.mark.unit


class Fake:
    def __init__(self) -> None:
        self.patches: list[tuple[str, str, dict[str, Any], str | None]] = []

    def list(self, kind: str, *_: Any) -> list[dict[str, Any]]:
        if kind == "GPUClass":
            return [{"metadata": {"name": "l4", "resourceVersion": "7", "finalizers": [FINALIZER]}}]
        return [
            {"metadata": {"name": "a", "namespace": "t", "resourceVersion": "3",
                          "finalizers": ["other.io/keep", FINALIZER]}},
            {"metadata": {"name": "b", "namespace": "t", "resourceVersion": "4"}},
        ]  # fmt: skip

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any], ns: str | None) -> None:
        self.patches.append((kind, name, patch, ns))


def test_only_our_finalizer_goes_and_others_stay() -> None:
    kube = Fake()
    said: list[str] = []
    assert release_finalizers(cast(Kube, kube), said.append) == 2
    assert kube.patches == [
        ("SmallModel", "a", {"metadata": {"finalizers": ["other.io/keep"], "resourceVersion": "3"}}, "t"),
        ("GPUClass", "l4", {"metadata": {"finalizers": [], "resourceVersion": "7"}}, None),
    ]  # fmt: skip
    assert said == ["released SmallModel t/a", "released GPUClass l4"]
