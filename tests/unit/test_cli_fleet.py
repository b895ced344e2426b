"""`kubectl slm top` and `kubectl slm cost`: rows from status, live figures, sorting, output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slmfleet.cli.fleet_commands import live_figures
from slmfleet.cli.fleet_view import fit_headroom, fleet_rows, sort_rows
from slmfleet.cli.kubectl_slm import build_parser

pytestmark = pytest.mark.unit

PLAN = {
    "usableGiB": 13.8,
    "weightsGiB": 1.5,
    "overheadGiB": 1.0,
    "activationGiB": 0.3,
    "kvRequestedGiB": 8.0,
}


def model(ns: str, name: str, per_1m: float | None, tps: float | None) -> dict[str, Any]:
    window = {"costPer1MTokens": per_1m, "tokensPerSecond": tps, "gpuHours": 1.0, "cost": 0.35}
    return {
        "metadata": {"namespace": ns, "name": name},
        "spec": {"gpuClassName": "t4"},
        "status": {
            "replicas": 1,
            "plan": PLAN,
            "cost": {"reason": "Priced", "window": window, "pricePerGPUHour": 0.35, "gpus": 1},
        },
    }


MODELS = [
    model("a", "cheap", 0.06, 900.0),
    model("b", "dear", 2.5, 10.0),
    model("a", "idle", None, 0.0),
]


class FakeKube:
    def __init__(self) -> None:
        self.listed: list[str | None] = []

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        self.listed.append(namespace)
        return [m for m in MODELS if namespace is None or m["metadata"]["namespace"] == namespace]


def _run(argv: list[str], kube: FakeKube) -> int:
    args = build_parser(lambda _: (kube, "a")).parse_args(argv)  # type: ignore[arg-type,return-value]
    return int(args.func(args))


@pytest.mark.parametrize(
    ("plan", "headroom"),
    [(PLAN, 3.0), ({**PLAN, "kvRequestedGiB": 12.0}, -1.0), ({}, None), (None, None)],
)
def test_fit_headroom(plan: dict[str, Any] | None, headroom: float | None) -> None:
    assert fit_headroom(plan) == headroom


def test_sort_numbers_largest_first_unknown_last() -> None:
    rows = fleet_rows(MODELS)
    assert [r["name"] for r in sort_rows(rows, "costPer1MTokens")] == ["dear", "cheap", "idle"]
    assert [r["name"] for r in sort_rows(rows, None)] == ["cheap", "idle", "dear"]
    assert [r["name"] for r in sort_rows(rows, "name")] == ["cheap", "dear", "idle"]


def test_top_all_namespaces(capsys: pytest.CaptureFixture[str]) -> None:
    kube = FakeKube()
    assert _run(["top", "-A", "--prometheus-url", "", "--sort-by", "tokensPerSecond"], kube) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "GPU"]
    assert "$/1M TOK" in lines[0] and "HEADROOM GiB" in lines[0]
    assert [line.split()[1] for line in lines[1:]] == ["cheap", "dear", "idle"]
    assert lines[1].split()[-2:] == ["0.06", "3"]
    assert kube.listed == [None]


def test_cost_json_in_one_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    kube = FakeKube()
    assert _run(["cost", "-o", "json"], kube) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {"cheap", "idle"}
    assert rows[0]["costPer1MTokens"] == 0.06 and rows[0]["windowCost"] == 0.35
    assert kube.listed == ["a"]


def test_live_figures_by_model() -> None:
    def query(promql: str) -> list[dict[str, Any]]:
        labels = {"namespace": "a", "slmfleet_io_model": "cheap"}
        value = 0.4 if "kv_cache" in promql else 0.2 if "time_to_first" in promql else 0.01
        return [{"metric": labels, "value": [0, str(value)]}]

    live = live_figures(query)
    assert live[("a", "cheap")] == {"kvCacheUsage": 0.4, "p95TTFTSeconds": 0.2, "errorRate": 0.01}
    row = fleet_rows(MODELS, live)[0]
    assert (row["kvCacheUsage"], row["p95TTFTSeconds"]) == (0.4, 0.2)
