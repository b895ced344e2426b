"""The Grafana dashboards in the chart (charts/slmfleet/dashboards/) are well formed and name only
metrics that exist: the operator's, the router's and vLLM's. That every query returns data is the
e2e test's (tests/e2e/test_dashboards.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from slmfleet.observability import metrics
from slmfleet.observability.fleet import FleetCollector
from slmfleet.router.metrics import RouterMetrics

pytestmark = pytest.mark.unit

DASHBOARDS = sorted(
    (Path(__file__).resolve().parents[2] / "charts/slmfleet/dashboards").glob("*.json")
)
POD_LABELS = {"slmfleet_io_model", "slmfleet_io_revision"}  # engine pods' labels, as scraped
VARIABLES = {"$namespace", "$__rate_interval", "${datasource}", "$1"}
# vLLM's metric names (docs: /work reference of vLLM 0.33 and llm-d-inference-sim, which both
# export them), with the suffixes Prometheus gives counters and histograms.
VLLM = {
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:time_to_first_token_seconds_bucket",
    "vllm:kv_cache_usage_perc",
    "vllm:request_success_total",
    "vllm:e2e_request_latency_seconds_bucket",
}


def _dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text())) for p in DASHBOARDS]


def _exprs(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _samples(registry: CollectorRegistry) -> set[str]:
    """The series names a registry exports, children or not (a labelled metric nobody has
    counted yet exports nothing, but its names are the same)."""
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


class _Cache:
    def smallmodels(self, namespace: str | None = None) -> list[Any]:
        spec = {"gpuClassName": "l4"}
        status = {"rollout": {"phase": "Paused"}, "phase": "Ready"}
        return [{"metadata": {"namespace": "n", "name": "m"}, "spec": spec, "status": status}]

    def gpuclass(self, name: str) -> Any:
        return {"spec": {"gpusPerReplica": 1, "pricePerGPUHour": 1.0}}


class _Queue:
    depth = 0
    handled = 0


def _known() -> set[str]:
    fleet = CollectorRegistry()
    fleet.register(FleetCollector(lambda: (_Cache(), _Queue())))
    router = RouterMetrics()
    return _samples(metrics.REGISTRY) | _samples(fleet) | _samples(router.registry) | VLLM


def test_the_four_dashboards_are_there() -> None:
    assert [name for name, _ in _dashboards()] == ["fleet", "operator", "rollouts", "router"]


@pytest.mark.parametrize(("name", "board"), _dashboards())
def test_panels_are_well_formed(name: str, board: dict[str, Any]) -> None:
    assert board["uid"] == f"slmfleet-{name}"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24


@pytest.mark.parametrize(("name", "board"), _dashboards())
def test_queries_use_only_known_variables_and_metrics(name: str, board: dict[str, Any]) -> None:
    known = _known()
    defined = {f"${v['name']}" for v in board["templating"]["list"]}
    for expr in _exprs(board):
        used = set(re.findall(r"\$\{?[A-Za-z0-9_]+\}?", expr))
        assert used <= VARIABLES, expr
        assert {v for v in used if v in {"$namespace"}} <= defined, expr
        names = set(re.findall(r"\b(?:slmfleet_[a-z_]+|vllm:[a-z_]+)", expr)) - POD_LABELS
        assert names, expr
        assert names - known == set(), expr
