"""The weight cache, pure: the claim and the download Job, the engine's read-only mount, the
cache's phase and progress, the model's plan waiting for it, unused caches, cold starts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api.parse import parse_gpuclass, parse_smallmodel
from slmfleet.builders.weight_cache import claim, download_job
from slmfleet.planner import catalog_facts
from slmfleet.reconcile.cold_start import expected_start, record
from slmfleet.reconcile.model_plan import Analysis, ModelPlan, plan_model
from slmfleet.reconcile.smallmodel import Observed, gpu_spec
from slmfleet.reconcile.weight_cache import (
    WeightsObserved,
    cache_request,
    cache_view,
    plan_unused,
)
from slmfleet.timefmt import format_time
from slmfleet.weights.names import (
    ENGINE_PATTERNS,
    GRACE_ANNOTATION,
    UNUSED_SINCE_ANNOTATION,
    WEIGHTS_LABEL,
    cache_name,
)

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
REPO = "Qwen/Qwen2.5-3B-Instruct"
REV = "0123456789abcdef0123456789abcdef01234567"
NAME = cache_name(REPO, REV)
GIB = 1024**3


def body(
    cache: dict[str, Any] | None = None, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    doc["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    doc["spec"]["source"] = {"huggingFace": {"repo": REPO, "revision": REV}}
    doc["spec"]["cache"] = {"storageClassName": "fast-rwx"} if cache is None else cache
    if status is not None:
        doc["status"] = status
    return dict(doc)


def observed(weights: WeightsObserved | None, pods: tuple[dict[str, Any], ...] = ()) -> Observed:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / "gpuclasses.yaml").read_text()) if d]
    classes = {d["metadata"]["name"]: parse_gpuclass(d).spec for d in docs}
    return Observed(
        gpuclass=classes["l4"],
        facts=catalog_facts(REPO),
        other_gpuclasses=tuple(gpu_spec(n, s) for n, s in classes.items()),
        weights=weights,
        pods=pods,
    )


def plan(b: dict[str, Any], o: Observed) -> ModelPlan:
    return plan_model(parse_smallmodel(b), b, o, Analysis(), "vllm/vllm-openai:test", T0, 600.0)


def job(succeeded: bool = False, failed: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-01-01T11:59:00Z", "conditions": []}
    if succeeded:
        status.update(succeeded=1, completionTime="2026-01-01T11:59:30Z")
        status["conditions"] = [{"type": "Complete", "status": "True"}]
    if failed:
        status["conditions"] = [{"type": "Failed", "status": "True", "message": failed}]
    return {"metadata": {"name": NAME}, "status": status}


BOUND = {"metadata": {"name": NAME}, "status": {"phase": "Bound"}}


def request(**cache: Any) -> Any:
    model = parse_smallmodel(body(cache or None))
    req = cache_request(model, 6 * GIB, None)
    assert req is not None
    return req


def test_the_claim_is_sized_from_the_weights_and_named_after_repo_and_revision() -> None:
    req = request()
    pvc = claim(req)
    assert pvc["metadata"]["name"] == NAME == cache_name(REPO, REV) != cache_name(REPO, "v2")
    assert pvc["metadata"]["labels"][WEIGHTS_LABEL] == NAME
    assert "ownerReferences" not in pvc["metadata"]  # shared: no model owns it
    assert pvc["spec"]["storageClassName"] == "fast-rwx"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    mib = int(pvc["spec"]["resources"]["requests"]["storage"].removesuffix("Mi"))
    assert 6 * 1024 * 1.1 + 64 <= mib <= 6 * 1024 * 1.1 + 66  # weights, a tenth, tokenizer


def test_the_download_job_runs_snapshot_download_with_patterns_token_and_endpoint() -> None:
    b = body()
    b["spec"]["source"]["huggingFace"]["tokenSecretRef"] = {"name": "hf", "key": "token"}
    req = cache_request(parse_smallmodel(b), GIB, None)
    assert req is not None
    j = download_job(req, "ghcr.io/slmfleet/slmfleet:1", "http://mirror:8080")
    pod = j["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}
    assert c["command"] == ["python", "-m"] and c["args"][0] == "slmfleet.weights.download"
    assert env["SLMFLEET_WEIGHTS_REPO"] == REPO and env["SLMFLEET_WEIGHTS_REVISION"] == REV
    assert env["SLMFLEET_WEIGHTS_PATTERNS"].split(",") == list(ENGINE_PATTERNS)
    assert env["HF_ENDPOINT"] == "http://mirror:8080" and env["HF_HUB_OFFLINE"] == "0"
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "hf", "key": "token"}}
    assert pod["restartPolicy"] == "Never" and j["spec"]["backoffLimit"] > 1
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": NAME}


def test_gguf_models_fetch_gguf_files() -> None:
    b = body()
    b["spec"]["quantization"] = "gguf"
    req = cache_request(parse_smallmodel(b), GIB, None)
    assert req is not None and "*.gguf" in req.patterns and "*.safetensors" not in req.patterns


def test_a_read_write_once_cache_downloads_on_the_gpu_class_nodes() -> None:
    o = observed(None)
    model = parse_smallmodel(body({"accessMode": "ReadWriteOnce"}))
    req = cache_request(model, GIB, o.gpuclass)
    assert req is not None and dict(req.node_selector) == dict(o.gpuclass.node_selector)  # type: ignore[union-attr]


def test_a_model_waits_for_its_cache_and_creates_it() -> None:
    p = plan(body(), observed(WeightsObserved(downloader_image="img")))
    assert sorted(o["kind"] for o in p.apply) == ["Job", "PersistentVolumeClaim"]
    assert p.status["phase"] == "Progressing"
    assert p.status["cache"]["phase"] == "Pending"
    ready = next(c for c in p.status["conditions"] if c["type"] == "Reconciling")
    assert ready["reason"] == "DownloadingWeights"


def test_progress_is_in_the_status_while_the_job_runs() -> None:
    progress = {
        "bytesDone": 3 * 1024**2,
        "bytesTotal": 12 * 1024**2,
        "filesDone": 2,
        "filesTotal": 7,
    }
    p = plan(body(), observed(WeightsObserved(claim=BOUND, job=job(), progress=progress)))
    assert p.apply == ()  # both exist: nothing to create, no engine yet
    cache = p.status["cache"]
    assert cache["phase"] == "Downloading" and cache["bytesDone"] == 3 * 1024**2
    assert cache["progress"] == "25% of 12.0 MiB, 2/7 files"
    assert cache["waitingRevision"]


def test_a_complete_cache_lets_the_engine_mount_it_read_only_offline() -> None:
    p = plan(body(), observed(WeightsObserved(claim=BOUND, job=job(succeeded=True))))
    dep = next(o for o in p.apply if o["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HUB_CACHE"] == "/weights"
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/weights")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert mount["readOnly"] and volume["persistentVolumeClaim"] == {
        "claimName": NAME,
        "readOnly": True,
    }
    assert dep["metadata"]["labels"][WEIGHTS_LABEL] == NAME
    assert p.status["cache"]["phase"] == "Complete"


def test_the_engine_disk_no_longer_holds_the_weights() -> None:
    b = body()
    cached = plan(b, observed(WeightsObserved(claim=BOUND, job=job(succeeded=True))))
    del b["spec"]["cache"]
    plain = plan(b, observed(None))

    def disk(p: ModelPlan) -> int:
        dep = next(o for o in p.apply if o["kind"] == "Deployment")
        value = dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        return int(value["ephemeral-storage"].removesuffix("Gi"))

    assert disk(cached) < disk(plain)


def test_an_image_volume_needs_no_claim_and_no_job() -> None:
    image = {"image": {"reference": "registry.example/w@sha256:" + "a" * 64}}
    p = plan(body(image), observed(None))
    dep = next(o for o in p.apply if o["kind"] == "Deployment")
    volumes = dep["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "weights",
        "image": {"reference": image["image"]["reference"], "pullPolicy": "IfNotPresent"},
    } in volumes
    assert {o["kind"] for o in p.apply}.isdisjoint({"Job", "PersistentVolumeClaim"})
    assert WEIGHTS_LABEL not in dep["metadata"]["labels"]


@pytest.mark.parametrize(
    ("weights", "cache", "reason"),
    [
        (
            WeightsObserved(storage_problem="StorageClass 'x' does not exist"),
            None,
            "StorageClassNotFound",
        ),
        (WeightsObserved(), {"size": "1Gi"}, "CacheTooSmall"),
        (
            WeightsObserved(claim=BOUND, job=job(failed="BackoffLimitExceeded")),
            None,
            "DownloadFailed",
        ),
    ],
)
def test_a_cache_that_cannot_fill_stalls_the_model(
    weights: WeightsObserved, cache: dict[str, Any] | None, reason: str
) -> None:
    p = plan(body(cache), observed(weights))
    assert p.status["phase"] == "Stalled"
    stalled = next(c for c in p.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", reason)
    assert not any(o["kind"] == "Job" for o in p.apply)


def test_cache_view_waits_for_the_volume() -> None:
    pending = {"metadata": {"name": NAME}, "status": {"phase": "Pending"}}
    view = cache_view(request(), pending, job(), {}, None, GIB)
    assert (view.complete, view.status["phase"]) == (False, "Pending")


def _pvc(name: str, since: datetime | None = None, grace: int = 60) -> dict[str, Any]:
    annotations = {GRACE_ANNOTATION: str(grace)}
    if since is not None:
        annotations[UNUSED_SINCE_ANNOTATION] = format_time(since)
    return {"metadata": {"name": name, "annotations": annotations}}


def test_unused_caches_are_marked_then_deleted_after_their_grace() -> None:
    claims = [
        _pvc("used", since=T0),  # used again: the mark goes
        _pvc("new"),  # just unused: marked, due in its grace
        _pvc("waiting", since=T0 - timedelta(seconds=20)),
        _pvc("old", since=T0 - timedelta(seconds=61)),
    ]
    out = plan_unused(claims, {"used"}, T0)
    assert out.mark == {"used": None, "new": format_time(T0)}
    assert out.delete == ("old",)
    assert out.next_due == 40.0


def _pod(rev: str, created: str, scheduled: str, ready: str | None) -> dict[str, Any]:
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled}]
    if ready:
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": ready})
    return {
        "metadata": {"labels": {"slmfleet.io/revision": rev}, "creationTimestamp": created},
        "status": {"conditions": conditions},
    }


def test_cold_start_counts_the_download_only_for_the_revision_that_waited() -> None:
    cache = {"waitingRevision": "a", "startedAt": "2026-01-01T11:59:00Z",
             "completedAt": "2026-01-01T11:59:30Z"}  # fmt: skip
    pods = [_pod("a", "2026-01-01T12:00:00Z", "2026-01-01T12:00:01Z", "2026-01-01T12:00:11Z")]
    first = record([], "a", pods, cache)
    assert first == [
        {"revision": "a", "podCreatedAt": "2026-01-01T12:00:00Z", "downloadSeconds": 30.0,
         "scheduleSeconds": 1.0, "loadSeconds": 10.0, "totalSeconds": 41.0, "cached": True},
    ]  # fmt: skip
    assert record(first, "a", pods, cache) == first  # once per revision
    pods.append(_pod("b", "2026-01-01T12:05:00Z", "2026-01-01T12:05:00Z", None))
    assert record(first, "b", pods, cache) == first  # not Ready yet: nothing to record
    pods[-1] = _pod("b", "2026-01-01T12:05:00Z", "2026-01-01T12:05:00Z", "2026-01-01T12:05:04Z")
    second = record(first, "b", pods, cache)
    assert second[0]["downloadSeconds"] == 0.0 and second[0]["totalSeconds"] == 4.0
    uncached = record([], "b", pods, None)
    assert "downloadSeconds" not in uncached[0] and uncached[0]["cached"] is False


def test_cold_starts_are_in_the_status_once_a_pod_is_ready() -> None:
    b = body()
    o = observed(WeightsObserved(claim=BOUND, job=job(succeeded=True)))
    rev = next(x for x in plan(b, o).apply if x["kind"] == "Deployment")["metadata"]["labels"][
        "slmfleet.io/revision"
    ]
    pods = (_pod(rev, "2026-01-01T12:00:00Z", "2026-01-01T12:00:01Z", "2026-01-01T12:00:09Z"),)
    pods[0]["status"]["startTime"] = "2026-01-01T12:00:03Z"  # taken up by its kubelet
    p = plan(b, dataclasses.replace(o, pods=pods))
    assert p.status["coldStarts"][0]["revision"] == rev
    assert p.status["coldStarts"][0]["scheduleSeconds"] == 3.0
    assert p.status["coldStarts"][0]["loadSeconds"] == 6.0


def test_scale_from_zero_expects_the_pod_part_of_the_last_cold_start() -> None:
    starts = [
        {"revision": "b", "downloadSeconds": 30.0, "totalSeconds": 41.0, "cached": True},
        {"revision": "a", "totalSeconds": 75.0, "cached": False},
    ]
    assert expected_start(starts, "b") == "its last cold start took 11 s (weights cached)"
    assert expected_start(starts, "a") == (
        "its last cold start took 75 s (weights downloaded by the engine)"
    )
    assert expected_start(starts, "c") is None


def test_a_retried_download_says_which_attempt_it_is() -> None:
    retried = job()
    retried["status"]["failed"] = 1
    progress = {"bytesDone": 5 * 1024**2, "bytesTotal": 10 * 1024**2}
    view = cache_view(request(), BOUND, retried, progress, None, GIB)
    assert view.status["progress"] == "50% of 10.0 MiB (attempt 2)"


def test_dropping_the_cache_clears_its_status() -> None:
    before = {"cache": {"name": NAME, "phase": "Complete", "progress": "complete"}}
    b = body(status=before)
    del b["spec"]["cache"]
    p = plan(b, observed(None))
    assert "cache" in p.status and p.status["cache"] is None
