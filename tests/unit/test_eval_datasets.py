"""EvalSuite datasets on a PersistentVolumeClaim: the API, the loader Job and its process, and the
operator's loads against a fake API and a fake loader (a hand clock decides what is fresh)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from test_eval_reference import Cache, dataset, echo_or_refuse, gets
from test_reconcile_smallmodel import model

from slmfleet.analysis.dataset import parse_jsonl
from slmfleet.api.errors import SpecError
from slmfleet.api.eval_dataset import PvcFile
from slmfleet.api.evalsuite import parse_evalsuite
from slmfleet.builders.dataset_job import loader_job, loader_name
from slmfleet.cache.view import FleetCache
from slmfleet.datasets.serve import load
from slmfleet.handlers.eval_datasets import LOAD_TTL_SECONDS, RETRY_SECONDS, DatasetLoads
from slmfleet.handlers.eval_run import run_eval
from slmfleet.k8s import Kube

pytestmark = pytest.mark.unit

NS = "team"
PVC = PvcFile(claim_name="datasets", path="triage/cases.jsonl")
SUITE: dict[str, Any] = {
    "apiVersion": "slmfleet.io/v1alpha1",
    "kind": "EvalSuite",
    "metadata": {"name": "triage", "namespace": NS, "uid": "u-1", "generation": 1},
    "spec": {"casesFrom": {"pvcFile": {"claimName": "datasets", "path": "triage/cases.jsonl"}}},
}


def test_a_dataset_is_one_of_a_configmap_key_or_a_file_inside_a_claim() -> None:
    assert parse_evalsuite(SUITE).spec.cases_from.pvc_file == PVC  # type: ignore[union-attr]
    both = {"pvcFile": {"claimName": "d", "path": "a.jsonl"},
            "configMapKeyRef": {"name": "c", "key": "k"}}  # fmt: skip
    for source in (both, {}, {"pvcFile": {"claimName": "d", "path": "../etc/passwd"}},
                   {"pvcFile": {"claimName": "d", "path": "/abs.jsonl"}},
                   {"pvcFile": {"claimName": "d", "path": "a/../../b"}}):  # fmt: skip
        with pytest.raises(SpecError):
            parse_evalsuite({**SUITE, "spec": {"casesFrom": source}})


def test_the_loader_refuses_a_bad_file_as_the_operator_would(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(dataset(1500, 0))
    assert load(good) == (200, good.read_bytes())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(dataset(3, 0) + "\n{not json}\n")
    status, why = load(bad)
    assert status == 422 and b"line 4: not JSON" in why
    assert load(tmp_path / "gone.jsonl")[0] == 422


def test_the_loader_job_mounts_the_claim_read_only_without_api_access() -> None:
    name = loader_name("t" * 80, "u-1", 1, "datasets", PVC.path, 0)
    assert len(name) <= 63 and name.endswith("-0") and "-dataset-" in name
    assert name != loader_name("t" * 80, "u-1", 2, "datasets", PVC.path, 0)  # a new generation
    job = loader_job(SUITE, "triage-dataset-x-0", "datasets", PVC.path, "slmfleet:test")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["volumes"] == [
        {"name": "dataset", "persistentVolumeClaim": {"claimName": "datasets", "readOnly": True}}
    ]
    assert container["volumeMounts"][0]["readOnly"] is True
    assert container["env"] == [
        {"name": "SLMFLEET_DATASET_FILE", "value": "/dataset/triage/cases.jsonl"}
    ]
    assert container["args"][0] == "slmfleet.datasets.serve"
    assert pod["automountServiceAccountToken"] is False and "fsGroup" not in pod["securityContext"]
    assert job["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0 and pod["restartPolicy"] == "Never"


class FakeKube:
    """Jobs and their pods by name; what was created."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}
        self.calls = 0

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.calls += 1
        return self.jobs.get(name)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        self.jobs[obj["metadata"]["name"]] = obj
        return obj

    def list(self, kind: str, namespace: str | None = None, selector: str = "") -> Any:
        self.calls += 1
        return self.pods.get(selector.removeprefix("job-name="), [])

    def run(self, name: str) -> None:
        self.pods[name] = [{"status": {"phase": "Running", "podIP": "10.0.5.5"}}]


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def loads(answer: tuple[int, bytes]) -> tuple[DatasetLoads, FakeKube, Clock, list[str]]:
    kube, clock, asked = FakeKube(), Clock(), []

    def fetch(url: str, timeout: float) -> tuple[int, bytes]:
        asked.append(url)
        return answer

    return DatasetLoads(lambda: cast(Kube, kube), fetch, clock), kube, clock, asked


def test_a_dataset_is_loading_until_its_loader_runs_then_kept_in_memory() -> None:
    datasets, kube, clock, asked = loads((200, dataset(1200, 0).encode()))
    first = datasets.cases(SUITE, PVC, 5.0)
    assert isinstance(first, str) and first.startswith("loading the dataset triage/cases.jsonl")
    (job,) = kube.jobs
    assert "was started" in first and job.endswith("-0")
    assert "has no running pod yet" in str(datasets.cases(SUITE, PVC, 5.0))
    kube.run(job)
    cases = datasets.cases(SUITE, PVC, 5.0)
    assert isinstance(cases, list) and len(cases) == 1200
    assert asked == ["http://10.0.5.5:8095/cases.jsonl"]
    calls = kube.calls
    assert datasets.cases(SUITE, PVC, 5.0) is cases and kube.calls == calls  # from memory
    clock.now += LOAD_TTL_SECONDS
    assert "was started" in str(datasets.cases(SUITE, PVC, 5.0))  # re-read: a new loader
    assert sorted(kube.jobs) == sorted([job, job[:-1] + "1"])


def test_a_dataset_no_eval_asks_for_is_forgotten() -> None:
    datasets, kube, clock, _ = loads((200, dataset(10, 0).encode()))
    datasets.cases(SUITE, PVC, 5.0)
    kube.run(next(iter(kube.jobs)))
    assert isinstance(datasets.cases(SUITE, PVC, 5.0), list)
    other = {**SUITE, "metadata": {**SUITE["metadata"], "name": "other", "uid": "u-2"}}
    clock.now += 2 * LOAD_TTL_SECONDS + 1
    datasets.cases(other, PVC, 5.0)  # the first suite (deleted, say) is dropped from memory
    assert len(datasets) == 1


def test_a_changed_suite_loads_anew() -> None:
    datasets, kube, _, _ = loads((200, dataset(10, 0).encode()))
    datasets.cases(SUITE, PVC, 5.0)
    changed = {**SUITE, "metadata": {**SUITE["metadata"], "generation": 2}}
    datasets.cases(changed, PVC, 5.0)
    assert len(kube.jobs) == 2


def test_a_refused_file_is_the_reason_until_a_new_loader_may_try_again() -> None:
    datasets, kube, clock, _ = loads((422, b"cases.jsonl: line 7: not JSON"))
    datasets.cases(SUITE, PVC, 5.0)
    kube.run(next(iter(kube.jobs)))
    why = datasets.cases(SUITE, PVC, 5.0)
    assert why == (
        "dataset triage/cases.jsonl on PersistentVolumeClaim 'datasets': "
        "cases.jsonl: line 7: not JSON"
    )
    assert datasets.cases(SUITE, PVC, 5.0) == why and len(kube.jobs) == 1
    clock.now += RETRY_SECONDS
    assert "was started" in str(datasets.cases(SUITE, PVC, 5.0)) and len(kube.jobs) == 2


def test_a_loader_that_ended_unread_is_replaced() -> None:
    datasets, kube, _, _ = loads((200, b""))
    datasets.cases(SUITE, PVC, 5.0)
    (job,) = kube.jobs
    kube.jobs[job]["status"] = {"succeeded": 1}  # idle past its timeout (an operator restart)
    assert "was started" in str(datasets.cases(SUITE, PVC, 5.0)) and len(kube.jobs) == 2


def test_an_eval_takes_its_cases_from_the_claim() -> None:
    body = {**SUITE, "spec": {**SUITE["spec"], "passThreshold": 0.5}}
    seen: list[PvcFile] = []

    def from_claim(suite: dict[str, Any], pvc: PvcFile, timeout: float) -> Any:
        seen.append(pvc)
        assert suite is body and 0 < timeout <= 30
        return parse_jsonl(dataset(40, 2))

    cache = cast(FleetCache, Cache(body))
    result = run_eval(cache, model(), "s", ["10.0.0.1:8000"], [], get=gets({}),
                      post=echo_or_refuse([]), from_claim=from_claim)  # fmt: skip
    assert seen == [PVC] and result.cases == 40 and result.score == pytest.approx(38 / 40)
    loading = run_eval(cache, model(), "s", ["10.0.0.1:8000"], [], get=gets({}),
                       post=echo_or_refuse([]), from_claim=lambda *_a, **_k: "loading the x")  # fmt: skip
    assert loading.verdict == "inconclusive" and loading.message == "loading the x"
