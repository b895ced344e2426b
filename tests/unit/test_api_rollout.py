"""SmallModel.spec.rollout: defaults and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from slmfleet.api.rollout import RolloutSpec

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    r = RolloutSpec()
    assert [s.weight for s in r.steps] == [10, 25, 50, 100]
    assert (r.analysis_interval_seconds, r.failure_limit, r.history_limit) == (30, 2, 5)
    assert (r.strategy, r.traffic_provider, r.no_surge) == ("canary", "router", False)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"steps": [{"weight": 50}, {"weight": 25}]}, "rise strictly"),
        ({"steps": [{"weight": 0}]}, "any other step a weight of at least 1"),
        ({"steps": [{"weight": 5, "shadow": {"percent": 5}}]}, "a shadow step has weight 0"),
        (
            {"steps": [{"weight": 0, "shadow": {"percent": 5}}], "trafficProvider": "replicas"},
            "shadow steps need the router traffic provider",
        ),
        ({"steps": []}, "at least 1"),
        ({"metrics": {"custom": [{"name": "q", "query": "up"}]}}, "min, max or both"),
        ({"trafficProvider": "gateway-api"}, "needs gatewayRef"),
        ({"webhooks": [{"name": "a", "type": "pre-rollout", "url": "http://x"}] * 2}, "unique"),
        ({"webhooks": [{"name": "a", "type": "pre-rollout", "url": "ftp://x"}]}, "pattern"),
        ({"analysisIntervalSeconds": "30"}, "valid integer"),
        ({"progressDeadlineSeconds": 5}, "greater than or equal to 10"),
    ],
)
def test_refused(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        RolloutSpec.model_validate(body)
    assert fragment in str(err.value)


def test_full_spec_round_trips_camel_case() -> None:
    body = {
        "strategy": "canary",
        "analysis": "required",
        "steps": [{"weight": 20, "pauseSeconds": 5}, {"weight": 100, "pauseSeconds": 0}],
        "analysisIntervalSeconds": 3,
        "failureLimit": 0,
        "inconclusiveLimit": 1,
        "progressDeadlineSeconds": 120,
        "noSurge": True,
        "metrics": {"p95TTFTSeconds": 0.5, "errorRate": 0.05, "maxRegressionVsStable": 2},
        "evalSuiteRef": "echo",
        "trafficProvider": "gateway-api",
        "gatewayRef": {"name": "gw"},
        "historyLimit": 3,
    }
    assert RolloutSpec.model_validate(body).to_body() == {
        **body,
        "metrics": {**body["metrics"], "custom": []},
        "webhooks": [],
    }
