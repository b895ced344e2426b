"""Any exception while gathering an analysis makes it inconclusive, never a retry loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from test_reconcile_smallmodel import model

from slmfleet.analysis.verdict import overall
from slmfleet.handlers.rollout_analysis import gather
from slmfleet.k8s import Kube

pytestmark = pytest.mark.unit


class Broken:
    """A Kube whose every read fails the way a bug or a hostile object would."""

    def list(self, *_: Any, **__: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom with Authorization: Bearer s3cr3t-t0ken")

    def get(self, *_: Any, **__: Any) -> dict[str, Any] | None:
        raise RecursionError("schema too deep")


@pytest.mark.parametrize("rollout", [{"metrics": {"errorRate": 0.1}}, {"evalSuiteRef": "answers"}])
def test_a_failing_gather_is_one_inconclusive_analysis(rollout: dict[str, Any]) -> None:
    m = model(rollout=rollout)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    checks, evaluation = gather(cast(Kube, Broken()), m, "new", "old", 0, now)
    assert [(c.name, c.verdict) for c in checks] == [("analysis", "inconclusive")]
    assert evaluation is None
    assert overall(checks, evaluation, require_evidence=True) == "inconclusive"
    assert "s3cr3t-t0ken" not in checks[0].threshold
