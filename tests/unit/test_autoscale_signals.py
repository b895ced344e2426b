"""Signals from Prometheus (with a fake HTTP fetch), status memory, and the HPA/KEDA builders."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest

from slmfleet.api.autoscaling import AutoscalingSpec
from slmfleet.api.parse import parse_smallmodel
from slmfleet.autoscale.decision import Recommendation, ScaleDecision
from slmfleet.autoscale.signals import PrometheusSignals, SignalQuery, queries, scalar
from slmfleet.autoscale.state import Memory, memory_from_status, rollout_active, status_patch
from slmfleet.builders.autoscaler import horizontal_pod_autoscaler, quantity, scaled_object

pytestmark = pytest.mark.unit

QUERY = SignalQuery("team", "qwen", "qwen-chat", window_seconds=20, idle_seconds=300)


def vector(value: str | None) -> dict[str, Any]:
    result = [] if value is None else [{"metric": {}, "value": [1.0, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {"pods": "2", "waiting": "3.5", "kv_cache": "0.25", "running": "8", "finished": "40"},
            {"pods": 2, "waiting": 3.5, "kv_cache": 0.25, "running": 8.0, "finished": 40.0},
        ),
        # No series at all: no data, nothing held.
        ({}, {"pods": 0, "waiting": None, "kv_cache": None, "running": None, "finished": None}),
        # NaN (an average over no samples) is no data too.
        ({"pods": "1", "waiting": "NaN"}, {"pods": 1, "waiting": None}),
        ({"held": "2"}, {"held": 2.0}),
    ],
)
def test_prometheus_signals(answers: dict[str, str], expected: dict[str, Any]) -> None:
    by_promql = {promql: answers.get(name) for name, promql in queries(QUERY).items()}
    asked: list[str] = []

    def fetch(url: str, timeout: float) -> dict[str, Any]:
        parsed = urllib.parse.urlparse(url)
        assert parsed.path == "/api/v1/query"
        promql = urllib.parse.parse_qs(parsed.query)["query"][0]
        asked.append(promql)
        return vector(by_promql[promql])

    got = PrometheusSignals("http://prom:9090/", fetch=fetch).read(QUERY)
    fields = {
        "pods": got.pods,
        "waiting": got.waiting,
        "kv_cache": got.kv_cache,
        "running": got.running,
        "finished": got.finished_in_idle_window,
        "held": got.held,
    }
    assert {k: fields[k] for k in expected} == expected
    assert sorted(asked) == sorted(by_promql)


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        (
            "waiting",
            ('vllm:num_requests_waiting{namespace="team",slmfleet_io_model="qwen"}', "[20s]"),
        ),
        ("kv_cache", ("vllm:kv_cache_usage_perc{", "[20s]", "avg(")),
        ("finished", ("sum(vllm:request_success_total{", "offset 300s) or vector(0)")),
        ("held", ('slmfleet_router_held_requests{namespace="team",model="qwen-chat"}',)),
        ("router_in_flight", ('in_flight_requests{namespace="team",route="qwen-chat"}', "[20s]")),
    ],
)
def test_queries_select_the_model(name: str, needles: tuple[str, ...]) -> None:
    promql = queries(QUERY)[name]
    for needle in needles:
        assert needle in promql


def test_failed_query_raises() -> None:
    provider = PrometheusSignals("http://p", fetch=lambda u, t: {"status": "error", "error": "x"})
    with pytest.raises(RuntimeError):
        provider.query("up")
    assert scalar([]) is None


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ({}, False),
        ({"rollout": {"phase": "Analyzing"}}, True),
        ({"rollout": {"phase": "RollingBack"}}, True),
        ({"rollout": {"phase": "Succeeded"}}, False),
        ({"rollout": {"phase": "Failed"}}, False),
    ],
)
def test_rollout_active(status: dict[str, Any], active: bool) -> None:
    assert rollout_active(status) is active


T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("desired", "current", "last_scale"),
    [
        (3, 2, "2026-03-01T12:00:30Z"),  # changed: lastScaleTime is now
        (2, 2, "2026-03-01T12:00:00Z"),  # unchanged: the previous lastScaleTime stays
    ],
)
def test_status_round_trip(desired: int, current: int, last_scale: str) -> None:
    decision = ScaleDecision(desired, "ScaleUp", "m", (Recommendation(T1, 3),))
    patch = status_patch(decision, Memory(last_scale_time=T0), current, T1, "operator")
    assert patch["lastScaleTime"] == last_scale
    assert patch["recommendations"] == [{"time": "2026-03-01T12:00:30Z", "replicas": 3}]
    back = memory_from_status({"autoscaling": patch})
    assert back.history == (Recommendation(T1, 3),)
    assert back.mode == "operator"


def model(autoscaling: dict[str, Any], min_replicas: int = 1) -> Any:
    return parse_smallmodel(
        {
            "apiVersion": "slmfleet.io/v1alpha1",
            "kind": "SmallModel",
            "metadata": {"name": "qwen", "namespace": "team", "uid": "u-1"},
            "spec": {
                "source": {
                    "huggingFace": {"repo": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "a" * 40}
                },
                "gpuClassName": "l4",
                "minReplicas": min_replicas,
                "maxReplicas": 6,
                "autoscaling": autoscaling,
            },
        }
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(4.0, "4"), (0.8, "800m"), (2.5, "2500m"), (0.05, "50m")]
)
def test_quantity(value: float, expected: str) -> None:
    assert quantity(value) == expected


def test_hpa_targets_the_scale_subresource() -> None:
    spec = {
        "enabled": True,
        "mode": "hpa",
        "targets": {"numRequestsWaiting": 3, "kvCacheUsagePerc": 0.8},
        "scaleDown": {"stabilizationWindowSeconds": 120, "maxStep": 2},
    }
    m = model(spec, min_replicas=0)
    auto: AutoscalingSpec = m.spec.autoscaling
    hpa = horizontal_pod_autoscaler(m, auto)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "name": "qwen",
    }
    assert hpa["spec"]["minReplicas"] == 1  # the HPA cannot go to zero
    assert hpa["spec"]["maxReplicas"] == 6
    targets = [
        (x["pods"]["metric"]["name"], x["pods"]["target"]["averageValue"])
        for x in hpa["spec"]["metrics"]
    ]
    assert targets == [("vllm_num_requests_waiting", "3"), ("vllm_kv_cache_usage_perc", "800m")]
    down = hpa["spec"]["behavior"]["scaleDown"]
    assert (down["stabilizationWindowSeconds"], down["policies"][0]["value"]) == (120, 2)
    assert hpa["metadata"]["ownerReferences"][0]["uid"] == "u-1"


@pytest.mark.parametrize(("to_zero", "min_count"), [(True, 0), (False, 1)])
def test_scaled_object(to_zero: bool, min_count: int) -> None:
    spec = {
        "enabled": True,
        "mode": "keda",
        "targets": {"numRequestsWaiting": 2},
        "scaleToZero": {"enabled": to_zero, "idleSeconds": 90},
    }
    m = model(spec, min_replicas=0 if to_zero else 1)
    obj = scaled_object(m, m.spec.autoscaling, "http://prom:9090")
    assert obj["spec"]["minReplicaCount"] == min_count
    triggers = obj["spec"]["triggers"]
    assert triggers[0]["metadata"]["threshold"] == "2"
    assert 'slmfleet_io_model="qwen"' in triggers[0]["metadata"]["query"]
    assert len(triggers) == (2 if to_zero else 1)  # held requests wake a model at zero
    assert obj["spec"].get("cooldownPeriod") == (90 if to_zero else None)
