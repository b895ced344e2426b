"""Preset PromQL, Prometheus answers, and one analysis over a fake provider."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from slmfleet.analysis.checks import analyze
from slmfleet.analysis.presets import (
    error_rate,
    p95_ttft,
    render_custom,
    router_error_rate,
    window_for,
)
from slmfleet.analysis.prometheus import PrometheusProvider, scalar_of
from slmfleet.api.rollout import MetricChecks

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_p95_ttft_query_selects_namespace_and_revision() -> None:
    assert p95_ttft("team", "abc123", "30s") == (
        "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket"
        '{namespace="team",slmfleet_io_revision="abc123"}[30s])))'
    )


def test_error_rate_counts_both_reason_label_spellings() -> None:
    q = error_rate("team", "abc", "30s")
    assert 'finished_reason=~"abort|error"' in q and 'finish_reason=~"abort|error"' in q
    assert q.endswith('/ sum(rate(vllm:request_success_total{namespace="team",'
                      'slmfleet_io_revision="abc"}[30s]))')  # fmt: skip


@pytest.mark.parametrize(
    ("interval", "scrape", "want"), [(3, 1, "6s"), (3, 15, "60s"), (60, 15, "120s")]
)
def test_window(interval: int, scrape: int, want: str) -> None:
    assert window_for(interval, scrape) == want


def test_custom_placeholders() -> None:
    q = 'sum(x{namespace="{{namespace}}",rev="{{revision}}"})'
    assert render_custom(q, "ns", "r1") == 'sum(x{namespace="ns",rev="r1"})'


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ({"status": "success", "data": {"resultType": "vector",
          "result": [{"metric": {}, "value": [1, "0.25"]}]}}, 0.25),
        ({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}, 3.0),
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, None),
        ({"status": "success", "data": {"resultType": "vector",
          "result": [{"value": [1, "NaN"]}]}}, None),
        ({"status": "success", "data": {"resultType": "vector",
          "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}}, None),
        ({"status": "error"}, None),
        ("garbage", None),
    ],
)  # fmt: skip
def test_scalar_of(body: Any, want: float | None) -> None:
    assert scalar_of(body) == want


def test_unreachable_prometheus_is_no_data() -> None:
    assert PrometheusProvider("http://127.0.0.1:9", timeout=0.5).query("up", NOW) is None


class Fake:
    def __init__(self, answers: dict[str, float | None]) -> None:
        self.answers = answers

    def query(self, promql: str, now: datetime) -> float | None:
        for key, value in self.answers.items():
            if key in promql and "slmfleet_io_revision" in promql:
                rev = "canary" if '"c"' in promql else "stable"
                return self.answers.get(f"{key}:{rev}", value)
        return None


def test_analysis_measures_and_judges_every_check() -> None:
    metrics = MetricChecks.model_validate(
        {"p95TTFTSeconds": 0.5, "errorRate": 0.1, "maxRegressionVsStable": 1.5}
    )
    fake = Fake(
        {
            "time_to_first_token": 0.0,
            "time_to_first_token:canary": 0.9,
            "time_to_first_token:stable": 0.3,
            "e2e_request_latency": 0.0,
            "e2e_request_latency:canary": 1.0,
            "e2e_request_latency:stable": 1.0,
            "request_success_total": 0.0,
        }
    )
    checks = {c.name: c for c in analyze(metrics, fake, "ns", "c", "s", NOW, 3, 0.25)}
    assert (checks["p95TTFTSeconds"].value, checks["p95TTFTSeconds"].verdict) == (0.9, "fail")
    # Prometheus says 0 errors, the probe saw 2 of 8 fail: the worse one counts
    assert (checks["errorRate"].value, checks["errorRate"].verdict) == (0.25, "fail")
    assert checks["ttftVsStable"].value == pytest.approx(0.9 / 0.3)
    assert checks["ttftVsStable"].verdict == "fail"
    assert (checks["e2eVsStable"].value, checks["e2eVsStable"].verdict) == (1.0, "pass")


def test_router_error_rate_is_the_5xx_share_of_one_revision() -> None:
    q = router_error_rate("team", "abc", "30s")
    assert q == (
        '(sum(rate(slmfleet_router_requests_total{namespace="team",revision="abc",code=~"5.."}'
        "[30s])) or vector(0)) / "
        'sum(rate(slmfleet_router_requests_total{namespace="team",revision="abc"}[30s]))'
    )


class ByMetric:
    """Answers by metric name, whatever the revision."""

    def __init__(self, answers: dict[str, float | None]) -> None:
        self.answers = answers

    def query(self, promql: str, now: datetime) -> float | None:
        return next((v for k, v in self.answers.items() if k in promql), None)


@pytest.mark.parametrize(
    ("engine", "router", "probe", "want"),
    [
        (0.0, 0.2, None, 0.2),  # the router saw 5xx the engine never counted
        (0.3, 0.1, 0.0, 0.3),
        (None, None, 0.25, 0.25),  # no router traffic yet: the probe decides
        (None, None, None, None),  # nothing measured: inconclusive
    ],
)
def test_error_rate_is_the_worst_of_engine_router_and_probe(
    engine: float | None, router: float | None, probe: float | None, want: float | None
) -> None:
    metrics = MetricChecks.model_validate({"errorRate": 0.15})
    fake = ByMetric({"vllm:request_success_total": engine, "slmfleet_router_requests": router})
    (result,) = analyze(metrics, fake, "ns", "c", "s", NOW, 3, probe)
    assert result.value == want
    assert result.verdict == {None: "inconclusive"}.get(
        want, "fail" if (want or 0) > 0.15 else "pass"
    )
