"""The cost pass: a model's ledger starts, accrues, resumes from status, and is written when due;
a cascade route's economics are written from the router's counts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from slmfleet.economics.cascade import RouteCounts
from slmfleet.economics.ledger import Counters
from slmfleet.handlers import cost

pytestmark = pytest.mark.unit

T4 = {"spec": {"product": "Tesla-T4", "gpusPerReplica": 1, "pricePerGPUHour": 0.35}}
PLAN = {"weightsGiB": 1.2, "maxNumSeqs": 16, "maxConcurrentSequences": 16, "tensorParallelSize": 1}


class FakeCache:
    def __init__(self, routes: list[dict[str, Any]] | None = None) -> None:
        self.routes = routes or []

    def gpuclass(self, name: str) -> dict[str, Any] | None:
        return T4 if name == "t4" else None

    def pods(self, namespace: str, model: str) -> list[dict[str, Any]]:
        return [{"metadata": {"name": "pod-a"}}]

    def modelroutes(self, namespace: str) -> list[dict[str, Any]]:
        return self.routes


class FakeKube:
    def __init__(self) -> None:
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any], ns: str, sub: str) -> None:
        self.patches.append((kind, name, patch))


def model(status: dict[str, Any] | None = None, uid: str = "u1") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": "m", "uid": uid},
        "spec": {"gpuClassName": "t4", "servedModelName": "m-served"},
        "status": {"replicas": 2, "plan": PLAN, **(status or {})},
    }


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    cost._ledgers.clear()
    cost._routes_written.clear()
    monkeypatch.setenv("SLMFLEET_COST_STATUS_SECONDS", "60")
    cost.settings.cache_clear()


def test_a_model_accrues_and_resumes_from_status() -> None:
    rt: Any = SimpleNamespace(cache=FakeCache(), kube=FakeKube())
    first = cost.account_model(rt, model(), {}, 1000.0)
    assert first is not None and first["gpus"] == 2  # the first observation is written
    counters = {("ns", "m"): {"pod-a": Counters(3e6, 1e6, 100)}}
    later = cost.account_model(rt, model({"cost": first}), counters, 1000.0 + 3600)
    assert later is not None
    assert later["window"]["gpuHours"] == pytest.approx(2.0)
    assert later["window"]["costPer1MTokens"] == pytest.approx(0.7 / 4)
    assert later["capacityTokensPerSecond"] > 0 and later["utilization"] is not None
    cost._ledgers.clear()  # an operator restart: the ledger comes back from status
    again = cost.account_model(rt, model({"cost": later}), counters, 1000.0 + 7200)
    assert again is not None
    assert again["sinceCreation"]["gpuHours"] == pytest.approx(4.0)
    assert again["sinceCreation"]["promptTokens"] == 3e6  # the same reading is not counted twice


def test_no_price_and_no_prometheus_say_so() -> None:
    rt: Any = SimpleNamespace(cache=FakeCache(), kube=FakeKube())
    body = model()
    body["spec"]["gpuClassName"] = "unpriced"
    written = cost.account_model(rt, body, None, 10.0)
    assert written is not None and written["reason"] == "NoPrice"
    assert written["window"]["costPer1MTokens"] is None
    written = cost.account_model(rt, model(uid="u2"), None, 10.0)
    assert written is not None and written["reason"] == "NoMetrics"


def test_cascade_route_economics_are_written_once_per_cadence() -> None:
    route = {
        "metadata": {"namespace": "ns", "name": "r", "uid": "r1"},
        "spec": {
            "backends": [
                {"name": "small", "smallModelRef": {"name": "m"}},
                {"name": "big", "url": "https://x/v1", "model": "big", "pricePer1MTokens": 5.0},
            ],
            "cascade": {"tiers": ["small", "big"]},
        },
        "status": {"backends": [{"name": "small", "model": "m-served"}]},
    }
    kube = FakeKube()
    rt: Any = SimpleNamespace(cache=FakeCache([route]), kube=kube)
    priced = model({"cost": {"window": {"costPer1MTokens": 0.1}}})
    counts = {
        ("ns", "r"): RouteCounts({"m-served": 9, "big": 1}, {"m-served": 9e5, "big": 1e5}, {})
    }
    cost.account_routes(rt, ["ns"], counts, {("ns", "m"): priced})
    cost.account_routes(rt, ["ns"], counts, {("ns", "m"): priced})
    assert len(kube.patches) == 1
    status = kube.patches[0][2]["status"]["cascade"]
    assert status["saving"] == pytest.approx(5.0 - 0.09 - 0.5)


def test_an_idle_model_is_written_on_a_replica_change_and_then_left_alone() -> None:
    rt: Any = SimpleNamespace(cache=FakeCache(), kube=FakeKube())
    body = model()
    writes = []
    for step in range(120):  # 20 minutes of 10 s passes, without traffic
        if step == 30:
            body["status"]["replicas"] = 3  # scaled once
        written = cost.account_model(rt, body, {}, 1000.0 + step * 10)
        if written is not None:
            body["status"]["cost"] = written  # what the watch brings back
            writes.append(step)
    assert writes == [0, 30]  # the first pass and the scale; tokens/s None -> 0 is no news


def test_a_new_model_is_written_once_its_first_replica_runs() -> None:
    kube = FakeKube()
    rt: Any = SimpleNamespace(cache=FakeCache(), kube=kube)
    body = model()
    body["status"]["replicas"] = 0  # created, its replica not up yet
    assert cost.account_model(rt, body, None, 1000.0) is None  # nothing to report
    assert cost.account_model(rt, body, None, 1010.0) is None
    body["status"]["replicas"] = 1
    written = cost.account_model(rt, body, None, 1020.0)
    assert written is not None and written["gpus"] == 1 and len(kube.patches) == 1
    assert written["ledger"]["started"] == 1000.0  # the ledger ran from the first pass
    body["status"]["cost"] = written
    for t in range(1030, 1400, 10):
        assert cost.account_model(rt, body, None, float(t)) is None  # then left alone
    cost._ledgers.clear()  # an operator restart resumes from what status keeps
    later = cost.account_model(rt, body, None, 1000.0 + 3600)
    assert later is None  # nothing moved but what accrues
    ledger = cost._ledgers["u1"]
    assert ledger.started == 1000.0 and ledger.total.gpu_hours == pytest.approx(3580 / 3600)


def test_a_model_that_never_ran_a_replica_has_no_cost_in_status() -> None:
    kube = FakeKube()
    rt: Any = SimpleNamespace(cache=FakeCache(), kube=kube)
    body = model()
    body["status"]["replicas"] = 0
    for t in range(0, 600, 10):
        assert cost.account_model(rt, body, None, float(t)) is None
    assert kube.patches == []
