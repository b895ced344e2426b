"""The one plan of a SmallModel: from spec, status and what was observed to everything applied,
with the next due time, across first creation, readiness, canaries, pauses, deadlines, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api.parse import parse_gpuclass, parse_smallmodel
from slmfleet.api.rollout import RolloutSpec
from slmfleet.api.rollout_status import CheckResult, RolloutStatus
from slmfleet.planner import catalog_facts
from slmfleet.reconcile.model_plan import Analysis, ModelPlan, analysis_wanted, next_due, plan_model
from slmfleet.reconcile.smallmodel import DeploymentState, Observed, gpu_spec
from slmfleet.rollout.transition_builder import stamp

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
IMAGE = "vllm/vllm-openai:test"
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
RESYNC = 600.0
PASS = (CheckResult(name="p95TTFTSeconds", value=0.2, threshold="<= 0.5", verdict="pass"),)


def body(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    doc["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    doc["spec"].update(spec)
    doc["spec"]["rollout"] = {
        "steps": [{"weight": 25}, {"weight": 50, "pauseSeconds": 30}],
        "analysisIntervalSeconds": 10,
        "progressDeadlineSeconds": 120,
        "metrics": {"p95TTFTSeconds": 0.5},
    }
    if status is not None:
        doc["status"] = status
    return dict(doc)


def observed(revisions: dict[str, tuple[int, int]] | None = None, cls: str = "l4") -> Observed:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / "gpuclasses.yaml").read_text()) if d]
    classes = {d["metadata"]["name"]: parse_gpuclass(d).spec for d in docs}
    states = {
        rev: DeploymentState(1, 1, replicas, ready, replicas, rev)
        for rev, (replicas, ready) in (revisions or {}).items()
    }
    return Observed(
        gpuclass=classes.get(cls),
        facts=catalog_facts("Qwen/Qwen2.5-3B-Instruct"),
        other_gpuclasses=tuple(gpu_spec(n, s) for n, s in classes.items()),
        revisions=states,
    )


def plan(
    b: dict[str, Any], o: Observed, now: datetime = T0, a: Analysis | None = None
) -> ModelPlan:
    return plan_model(parse_smallmodel(b), b, o, a or Analysis(), IMAGE, now, RESYNC)


def engine(p: ModelPlan) -> dict[str, Any]:
    return next(o for o in p.apply if o["kind"] == "Deployment")


def condition(p: ModelPlan, ctype: str) -> tuple[str, str]:
    c = next(c for c in p.status["conditions"] if c["type"] == ctype)
    return c["status"], c["reason"]


def revision_of(b: dict[str, Any]) -> str:
    return str(engine(plan(b, observed()))["metadata"]["labels"]["slmfleet.io/revision"])


def test_first_plan_creates_the_revision_and_remembers_it_as_stable() -> None:
    p = plan(body(), observed())
    rev = revision_of(body())
    assert [o["kind"] for o in p.apply] == ["Deployment", "Service", "PodDisruptionBudget"]
    assert engine(p)["spec"]["replicas"] == 1
    assert p.status["rollout"]["phase"] == "Succeeded"
    assert p.status["rollout"]["stableRevision"] == rev
    assert [h["revision"] for h in p.status["history"]] == [rev]
    assert condition(p, "Reconciling") == ("True", "Creating")
    assert p.next_due == RESYNC  # nothing is due: the Deployment's events wake it
    assert p.scales == () and p.deletions == ()


def test_a_ready_revision_is_ready_and_a_second_identical_plan_changes_nothing() -> None:
    rev = revision_of(body())
    first = plan(body(), observed({rev: (1, 1)}))
    assert condition(first, "Ready") == ("True", "Available")
    again = plan(body(first.status), observed({rev: (1, 1)}), T0 + timedelta(seconds=5))
    assert again.status == first.status  # so no status patch is written
    assert again.events == ()  # and no Event: nothing transitioned
    assert again.clear_annotations == {}


def _serving(rev: str) -> dict[str, Any]:
    return plan(body(), observed({rev: (1, 1)})).status


def test_a_spec_change_is_a_canary_beside_the_stable_revision() -> None:
    old = revision_of(body())
    changed = body(_serving(old), maxModelLen=4096)
    new = revision_of(changed)
    p = plan(changed, observed({old: (1, 1)}))
    r = p.status["rollout"]
    assert (r["phase"], r["stableRevision"], r["canaryRevision"], r["weight"]) == (
        "Progressing", old, new, 25,
    )  # fmt: skip
    assert engine(p)["metadata"]["name"].endswith(new) and engine(p)["spec"]["replicas"] == 1
    assert [(s.revision, s.replicas) for s in p.scales] == [(old, 1)]  # stable keeps its replicas
    assert condition(p, "Reconciling") == ("True", "CanaryProgressing")
    assert "RolloutStarted" in [e.reason for e in p.events]
    assert p.next_due == pytest.approx(121.0)  # the progress deadline, + 1 s


def _canary(old: str, **rollout: Any) -> dict[str, Any]:
    status = _serving(old)
    changed = body(status, maxModelLen=4096)
    new = revision_of(changed)
    fields = {
        "phase": "Analyzing", "stableRevision": old, "canaryRevision": new, "step": 0,
        "weight": 25, "stepStartedAt": stamp(T0), **rollout,
    }  # fmt: skip
    changed["status"] = {**status, "rollout": fields}
    return changed


def test_an_analysis_is_due_one_interval_after_the_last() -> None:
    old = revision_of(body())
    b = _canary(old, lastAnalysisAt=stamp(T0 - timedelta(seconds=7)))
    new = b["status"]["rollout"]["canaryRevision"]
    p = plan(b, observed({old: (1, 1), new: (1, 1)}))
    assert p.next_due == pytest.approx(3.0)
    model = parse_smallmodel(b)
    assert not analysis_wanted(model.status.rollout, model.spec.rollout, new, {new: 1}, T0)
    later = T0 + timedelta(seconds=3)
    assert analysis_wanted(model.status.rollout, model.spec.rollout, new, {new: 1}, later)
    assert not analysis_wanted(model.status.rollout, model.spec.rollout, new, {new: 0}, later)


def test_a_passing_analysis_advances_and_the_same_inputs_again_do_not_advance_twice() -> None:
    old = revision_of(body())
    b = _canary(old)
    new = b["status"]["rollout"]["canaryRevision"]
    o = observed({old: (1, 1), new: (1, 1)})
    p = plan(b, o, T0 + timedelta(seconds=10), Analysis(PASS))
    assert (p.status["rollout"]["step"], p.status["rollout"]["weight"]) == (1, 50)
    # An operator restarted right after: the same analysis is not counted again.
    b2 = {**b, "status": p.status}
    again = plan(b2, o, T0 + timedelta(seconds=10), Analysis(PASS))
    assert (again.status["rollout"]["step"], again.status["rollout"]["weight"]) == (1, 50)
    assert again.status["rollout"]["lastAnalysisAt"] == p.status["rollout"]["lastAnalysisAt"]


def test_spec_paused_holds_the_step_and_says_so() -> None:
    old = revision_of(body())
    b = _canary(old)
    b["spec"]["paused"] = True
    new = b["status"]["rollout"]["canaryRevision"]
    p = plan(b, observed({old: (1, 1), new: (1, 1)}), T0 + timedelta(seconds=60), Analysis(PASS))
    r = p.status["rollout"]
    assert (r["phase"], r["step"], r["weight"]) == ("Paused", 0, 25)


def test_a_canary_never_ready_rolls_back_at_the_progress_deadline() -> None:
    old = revision_of(body())
    b = _canary(old, phase="Progressing")
    new = b["status"]["rollout"]["canaryRevision"]
    p = plan(b, observed({old: (1, 1), new: (1, 0)}), T0 + timedelta(seconds=121))
    assert p.status["rollout"]["phase"] == "RollingBack"
    assert "ProgressDeadlineExceeded" in [e.reason for e in p.events]
    assert engine(p)["spec"]["replicas"] == 0


def test_a_model_that_does_not_fit_applies_nothing() -> None:
    p = plan(body(gpuClassName="t4", maxModelLen=32768, dtype="bfloat16"), observed(cls="t4"))
    assert p.apply == () and p.scales == () and p.deletions == ()
    assert condition(p, "Stalled") == ("True", "DoesNotFit")
    assert p.next_due == RESYNC


def test_a_model_being_deleted_applies_nothing() -> None:
    b = body()
    b["metadata"]["deletionTimestamp"] = stamp(T0)
    assert plan(b, observed()).apply == ()


@pytest.mark.parametrize(
    ("rollout", "due"),
    [
        (None, RESYNC),
        (RolloutStatus(phase="Succeeded", stable_revision="a"), RESYNC),
        (RolloutStatus(phase="Analyzing", stable_revision="a", canary_revision="b"), 0.5),
        (
            RolloutStatus(
                phase="Progressing", stable_revision="a", canary_revision="b",
                step_started_at=stamp(T0 - timedelta(seconds=20)),
            ),
            101.0,
        ),
        (
            RolloutStatus(
                phase="Paused", stable_revision="a", canary_revision="b",
                last_analysis_at=stamp(T0 - timedelta(seconds=4)),
            ),
            6.0,
        ),
        (
            RolloutStatus(
                phase="RollingBack", stable_revision="a", canary_revision="b",
                step_started_at=stamp(T0 - timedelta(seconds=100)),
            ),
            21.0,
        ),
        (RolloutStatus(phase="RolledBack", stable_revision="a", canary_revision="b"), RESYNC),
    ],
)  # fmt: skip
def test_next_due(rollout: RolloutStatus | None, due: float) -> None:
    spec = RolloutSpec.model_validate(
        {"analysisIntervalSeconds": 10, "progressDeadlineSeconds": 120}
    )
    assert next_due(spec, rollout, T0, RESYNC) == pytest.approx(due)
