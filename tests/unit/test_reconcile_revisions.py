"""One engine Deployment per revision, its replicas following the rollout status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api.parse import parse_gpuclass, parse_smallmodel
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.planner import catalog_facts
from slmfleet.reconcile.smallmodel import DeploymentState, Observed, decide

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


def model(rollout_status: dict[str, Any] | None = None, **spec: Any) -> SmallModel:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"].update({"namespace": "team", "uid": "u", "generation": 1})
    body["spec"].update(spec)
    if rollout_status is not None:
        body["status"] = {"rollout": rollout_status}
    return parse_smallmodel(body)


def observed(**kw: Any) -> Observed:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / "gpuclasses.yaml").read_text()) if d]
    l4 = next(parse_gpuclass(d).spec for d in docs if d["metadata"]["name"] == "l4")
    return Observed(gpuclass=l4, facts=catalog_facts("Qwen/Qwen2.5-3B-Instruct"), **kw)


def engine(m: SmallModel, obs: Observed | None = None) -> tuple[dict[str, Any], Any]:
    d = decide(m, obs or observed(), "img")
    return next(c for c in d.children if c["kind"] == "Deployment"), d


def test_deployment_is_named_and_selected_by_revision() -> None:
    dep, _ = engine(model(replicas=3, maxReplicas=4))
    rev = dep["metadata"]["labels"][REVISION_LABEL]
    assert dep["metadata"]["name"] == f"qwen2.5-3b-{rev}"
    assert dep["spec"]["selector"]["matchLabels"][REVISION_LABEL] == rev
    assert dep["spec"]["replicas"] == 3  # no rollout yet: all replicas


@pytest.mark.parametrize(
    ("weight", "phase", "want"),
    [
        (25, "Progressing", 1),  # ceil(4 * 25 / 100) = 1
        (50, "Analyzing", 2),
        (60, "Analyzing", 3),  # ceil(2.4) = 3
        (100, "Promoting", 4),
        (0, "RolledBack", 0),
    ],
)
def test_canary_replicas_follow_the_rollout_weight(weight: int, phase: str, want: int) -> None:
    dep, _ = engine(model(replicas=4, maxReplicas=4))
    rev = dep["metadata"]["labels"][REVISION_LABEL]
    status = {"phase": phase, "stableRevision": "old", "canaryRevision": rev, "weight": weight}
    dep, _ = engine(model(status, replicas=4, maxReplicas=4))
    assert dep["spec"]["replicas"] == want


def test_a_new_revision_waits_at_zero_for_the_rollout_to_start() -> None:
    status = {"phase": "Succeeded", "stableRevision": "old"}
    dep, _ = engine(model(status, replicas=4, maxReplicas=4))
    assert dep["spec"]["replicas"] == 0


def test_rolled_back_revision_is_stalled_and_replicas_are_summed() -> None:
    dep, _ = engine(model(replicas=2, maxReplicas=2))
    rev = dep["metadata"]["labels"][REVISION_LABEL]
    status = {
        "phase": "RolledBack",
        "stableRevision": "old",
        "canaryRevision": rev,
        "failedRevision": rev,
        "message": "rolled back: p95TTFTSeconds=1.6 (threshold <= 0.5)",
    }
    states = {
        "old": DeploymentState(1, 1, 2, 2, 2, "old"),
        rev: DeploymentState(1, 1, 0, 0, 0, rev),
    }
    _, d = engine(model(status, replicas=2, maxReplicas=2), observed(revisions=states))
    assert d.verdict.reason == "RolledBack" and d.verdict.stalled
    assert "p95TTFTSeconds=1.6" in d.verdict.message
    assert (d.status["replicas"], d.status["readyReplicas"]) == (2, 2)
