"""The operator's metrics: verbs of API calls, timed handlers, what one plan counts (phase
changes, rollbacks, verdicts, checks) and the fleet gauges read from a cache at scrape time."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from slmfleet.api.rollout_status import CheckResult, EvalResult
from slmfleet.conditions import Verdict
from slmfleet.k8s import resource_label
from slmfleet.observability import metrics
from slmfleet.observability.fleet import FleetCollector
from slmfleet.observability.plan_record import record_plan
from slmfleet.reconcile.model_plan import Analysis, ModelPlan

pytestmark = pytest.mark.unit


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("method", "content_type", "verb"),
    [
        ("GET", "application/json", "get"),
        ("PATCH", "application/apply-patch+yaml", "apply"),
        ("PATCH", "application/merge-patch+json", "patch"),
        ("POST", "application/json", "create"),
        ("DELETE", "application/json", "delete"),
    ],
)
def test_api_verbs(method: str, content_type: str, verb: str) -> None:
    assert metrics.api_verb(method, content_type) == verb


def test_api_calls_count_by_verb_resource_and_result() -> None:
    labels = {"verb": "get", "resource": "deployments"}
    before = value("slmfleet_api_calls_total", **labels, result="404")
    errors = value("slmfleet_api_calls_total", **labels, result="error")
    metrics.api_call("get", 404, "deployments")
    metrics.api_call("get", None, "deployments")
    assert value("slmfleet_api_calls_total", **labels, result="404") == before + 1
    assert value("slmfleet_api_calls_total", **labels, result="error") == errors + 1


def test_a_call_is_counted_under_its_resource_and_subresource() -> None:
    assert resource_label("SmallModel", "status") == "smallmodels/status"
    assert resource_label("Event") == "events"


def test_a_timed_handler_counts_results_and_durations() -> None:
    def handler(key: tuple[str, ...]) -> float | None:
        if key[1] == "boom":
            raise RuntimeError("boom")
        return 5.0

    timed = metrics.timed("unit", handler)
    assert timed(("unit", "ok")) == 5.0
    with pytest.raises(RuntimeError):
        timed(("unit", "boom"))
    assert value("slmfleet_reconciles_total", kind="unit", result="ok") == 1
    assert value("slmfleet_reconciles_total", kind="unit", result="error") == 1
    assert value("slmfleet_reconcile_duration_seconds_count", kind="unit") == 2


def test_known_reasons_start_at_zero() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    for reason in metrics.ROLLBACK_REASONS:
        assert f'slmfleet_rollbacks_total{{reason="{reason}"}}' in text
    assert 'slmfleet_rollout_transitions_total{phase="RollingBack"}' in text
    assert 'slmfleet_autoscaler_decisions_total{reason="Steady"}' in text


@pytest.mark.parametrize(
    ("address", "parsed"),
    [("0.0.0.0:8081", ("0.0.0.0", 8081)), (":9000", ("0.0.0.0", 9000)), ("[::1]:80", ("::1", 80))],
)
def test_metrics_addresses(address: str, parsed: tuple[str, int]) -> None:
    assert metrics.parse_address(address) == parsed


@pytest.mark.parametrize("address", ["8081", "host:", "host:port"])
def test_bad_metrics_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        metrics.parse_address(address)


def status(
    phase: str | None, canary: str | None = "c1", reason: str | None = None
) -> dict[str, Any]:
    if phase is None:
        return {}
    return {"rollout": {"phase": phase, "canaryRevision": canary, "rollbackReason": reason}}


def test_a_plan_counts_its_verdict_checks_and_the_phase_it_enters() -> None:
    checks = (
        CheckResult(name="p95TTFTSeconds", value=0.1, threshold="<= 0.5", verdict="pass"),
        CheckResult(name="errorRate", threshold="<= 0.01", verdict="inconclusive"),
    )
    analysis = Analysis(checks, EvalResult(suite="s", verdict="fail"))
    plan = ModelPlan(
        status=status("Paused"), verdict=Verdict(False, "StepHeld", "", reconciling=True)
    )
    before = {
        "p95": value("slmfleet_analysis_checks_total", check="p95TTFTSeconds", verdict="pass"),
        "eval": value("slmfleet_analysis_checks_total", check="eval", verdict="fail"),
        "paused": value("slmfleet_rollout_transitions_total", phase="Paused"),
        "held": value("slmfleet_plan_verdicts_total", reason="StepHeld"),
    }
    record_plan({"status": status("Analyzing")}, plan, analysis, 0.002)
    record_plan({"status": status("Paused")}, plan, Analysis(), 0.001)  # the same phase again
    assert value("slmfleet_analysis_checks_total", check="p95TTFTSeconds", verdict="pass") == (
        before["p95"] + 1
    )
    assert (
        value("slmfleet_analysis_checks_total", check="eval", verdict="fail") == before["eval"] + 1
    )
    assert value("slmfleet_rollout_transitions_total", phase="Paused") == before["paused"] + 1
    assert value("slmfleet_plan_verdicts_total", reason="StepHeld") == before["held"] + 2


def test_a_rollback_is_counted_once_by_its_reason() -> None:
    reason = "ProgressDeadlineExceeded"
    before = value("slmfleet_rollbacks_total", reason=reason)
    plan = ModelPlan(status=status("RollingBack", reason=reason))
    record_plan({"status": status("Progressing")}, plan, Analysis(), 0.001)
    record_plan({"status": status("RollingBack", reason=reason)}, plan, Analysis(), 0.001)
    assert value("slmfleet_rollbacks_total", reason=reason) == before + 1


def test_a_new_canary_in_the_same_phase_is_a_new_transition() -> None:
    before = value("slmfleet_rollout_transitions_total", phase="Progressing")
    plan = ModelPlan(status=status("Progressing", canary="c2"))
    record_plan({"status": status("Progressing", canary="c1")}, plan, Analysis(), 0.001)
    assert value("slmfleet_rollout_transitions_total", phase="Progressing") == before + 1


class FakeCache:
    def __init__(self, models: list[dict[str, Any]], classes: dict[str, dict[str, Any]]) -> None:
        self.models, self.classes = models, classes

    def smallmodels(self, namespace: str | None = None) -> list[Any]:
        return self.models

    def gpuclass(self, name: str) -> Any:
        return self.classes.get(name)


class FakeQueue:
    depth = 3
    handled = 42


def model(name: str, gpu_class: str, replicas: int, ready: int, **status: Any) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {
        "metadata": {"namespace": "team", "name": name},
        "spec": {"gpuClassName": gpu_class},
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "conditions": conditions,
            **status,
        },
    }


def scrape(cache: FakeCache) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(FleetCollector(lambda: (cache, FakeQueue())))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_fleet_gauges_give_replicas_and_the_price_of_a_replica() -> None:
    classes = {
        "l4": {"spec": {"gpusPerReplica": 2, "pricePerGPUHour": 0.71}},
        "free": {"spec": {"gpusPerReplica": 1}},  # no price: no price series, never a 0
    }
    canary = {"phase": "Paused", "canaryRevision": "c1", "weight": 50}
    cache = FakeCache(
        [
            model("a", "l4", 3, 2, phase="Ready", rollout=canary),
            model("b", "free", 1, 0, phase="Progressing"),
            model("c", "missing", 0, 0),
        ],
        classes,
    )
    got = scrape(cache)
    a = (("gpu_class", "l4"), ("model", "a"), ("namespace", "team"))
    assert got[("slmfleet_model_replicas", a)] == 3
    assert got[("slmfleet_model_ready_replicas", a)] == 2
    assert got[("slmfleet_model_gpus_per_replica", a)] == 2
    assert got[("slmfleet_model_replica_price_per_hour", a)] == pytest.approx(1.42)
    assert got[("slmfleet_model_canary_weight", (("model", "a"), ("namespace", "team")))] == 50
    assert got[("slmfleet_model_ready", (("model", "b"), ("namespace", "team")))] == 0
    priced = {labels for name, labels in got if name == "slmfleet_model_replica_price_per_hour"}
    assert priced == {a}
    assert got[("slmfleet_smallmodels", (("phase", "Ready"),))] == 1
    assert got[("slmfleet_smallmodels", (("phase", "Stalled"),))] == 0
    assert got[("slmfleet_rollouts", (("phase", "Paused"),))] == 1
    assert got[("slmfleet_rollouts", (("phase", "RolledBack"),))] == 0
    assert got[("slmfleet_workqueue_depth", ())] == 3
    assert got[("slmfleet_workqueue_handled_total", ())] == 42


def test_no_runtime_no_fleet_series() -> None:
    registry = CollectorRegistry()
    registry.register(FleetCollector(lambda: None))
    assert b"slmfleet_model" not in generate_latest(registry)
