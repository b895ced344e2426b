"""The weight cache end to end: the real huggingface_hub download in a Job's pod against the Hub
stand-in, progress in the SmallModel's status, engines that load from the shared volume, and a
download killed midway that a retry finishes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rollout_support import echo_model, wait_serving, with_args

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.hub import MIB, HubStandIn, Logged
from slmfleet.devcluster.hub import STAND_IN_REPO as HUB_REPO
from slmfleet.devcluster.hub import STAND_IN_REVISIONS as HUB_REVISIONS
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube
from slmfleet.weights.names import WEIGHTS_LABEL, cache_name

pytestmark = pytest.mark.e2e


def cached_model(namespace: str, name: str, revision: str) -> dict[str, Any]:
    body = echo_model(namespace, name, {"steps": [{"weight": 50}], "analysis": "none"}, replicas=1)
    body["spec"]["source"] = {"huggingFace": {"repo": HUB_REPO, "revision": revision}}
    body["spec"]["cache"] = {"storageClassName": "slmfleet-dev"}
    return body


def cache_status(k8s: Kube, name: str, namespace: str) -> dict[str, Any]:
    obj = k8s.get("SmallModel", name, namespace) or {}
    return dict((obj.get("status") or {}).get("cache") or {})


def fetches(hub: HubStandIn, revision: str, filename: str = "", since: int = 0) -> list[Logged]:
    """File downloads (GET .../resolve/...) the stand-in served for ``revision``, from its
    ``since``-th logged request on (other tests of the session may fetch the same revision)."""
    path = f"/{HUB_REPO}/resolve/{revision}/{filename}"
    return [r for r in hub.requests()[since:] if r.method == "GET" and path in r.path]


def file_gets(hub: HubStandIn, revision: str, filename: str = "", since: int = 0) -> int:
    return len(fetches(hub, revision, filename, since))


def downloading(k8s: Kube, name: str, namespace: str, least: int) -> dict[str, Any] | None:
    """The cache status once the Job reports at least ``least`` bytes, before it completes."""
    status = cache_status(k8s, name, namespace)
    done = status.get("bytesDone") or 0
    if status.get("phase") == "Downloading" and least <= done < (status.get("bytesTotal") or 0):
        return status
    return None


def test_replicas_and_canary_start_from_the_cache(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str, hub: HubStandIn
) -> None:
    revision = HUB_REVISIONS[0]
    hub.bytes_per_second = 8 * MIB
    body = cached_model(namespace, "cached", revision)
    k8s.apply(body)

    seen = poll("download progress in status", lambda: downloading(k8s, "cached", namespace, 1))
    assert "%" in seen["progress"] and seen["filesTotal"] == 7  # README and ONNX left out
    assert not k8s.list("Deployment", namespace, "slmfleet.io/model=cached")  # no GPU held yet

    first = wait_serving(k8s, "cached", namespace, timeout=180)
    status = first["status"]
    assert status["cache"]["phase"] == "Complete"
    assert status["cache"]["bytesDone"] == status["cache"]["bytesTotal"] > 40 * MIB
    downloads = file_gets(hub, revision)
    assert downloads == 7

    scaled = copy.deepcopy(body)
    scaled["spec"]["replicas"] = 2
    k8s.apply(scaled)
    wait_serving(k8s, "cached", namespace)
    k8s.apply(with_args(scaled, "--mode=echo", "--inter-token-latency=1ms"))  # a canary
    final = wait_serving(k8s, "cached", namespace, timeout=180)
    assert final["status"]["templateHash"] != status["templateHash"]

    assert file_gets(hub, revision) == downloads  # no replica or canary downloaded again
    jobs = k8s.list("Job", namespace, f"{WEIGHTS_LABEL}={cache_name(HUB_REPO, revision)}")
    assert len(jobs) == 1
    pods = k8s.list("Pod", namespace, "slmfleet.io/model=cached")
    claims = {
        (v["persistentVolumeClaim"]["claimName"], v["persistentVolumeClaim"]["readOnly"])
        for p in pods
        for v in p["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {(cache_name(HUB_REPO, revision), True)}
    starts = {c["revision"]: c for c in final["status"]["coldStarts"]}
    assert starts[status["templateHash"]]["downloadSeconds"] > 0  # it waited for the download
    assert starts[final["status"]["templateHash"]]["downloadSeconds"] == 0  # warm cache


def test_a_killed_download_resumes(
    operator: OperatorProcess,
    k8s: Kube,
    cluster: DevCluster,
    gpuclasses: list[str],
    namespace: str,
    hub: HubStandIn,
) -> None:
    revision = HUB_REVISIONS[1]
    since = len(hub.requests())
    hub.bytes_per_second = 4 * MIB  # the 40 MiB file takes 10 s
    k8s.apply(cached_model(namespace, "resumed", revision))
    name = cache_name(HUB_REPO, revision)

    def big_file_started() -> dict[str, Any] | None:
        status = downloading(k8s, "resumed", namespace, 10 * MIB)
        return status if status and status.get("filesDone", 0) >= 6 else None

    poll("the small files done, the big one under way", big_file_started, timeout=120)
    running = [
        p
        for p in k8s.list("Pod", namespace, f"{WEIGHTS_LABEL}={name}")
        if p["status"].get("phase") == "Running"
    ]
    assert len(running) == 1
    assert cluster.backer is not None
    cluster.backer.kill(namespace, running[0]["metadata"]["name"], hard=True)

    wait_serving(k8s, "resumed", namespace, timeout=240)
    job = k8s.get("Job", name, namespace) or {}
    assert job["status"].get("failed") == 1 and job["status"].get("succeeded") == 1
    big = "model-00003-of-00003.safetensors"
    gets = fetches(hub, revision, big, since)
    # fetched from its start twice: the killed run's, then the new run's (a file cut off is
    # fetched again); any other fetch is huggingface-hub resuming a read that failed within one
    # run (a timeout on a busy machine), which asks for the rest with a Range
    seen = [(g.range, g.status) for g in gets]
    assert [g.range for g in gets].count(None) == 2, seen
    assert all(g.range is None or not g.range.startswith("bytes=0-") for g in gets), seen
    for done in ("model-00001-of-00003.safetensors", "config.json", "tokenizer.json"):
        assert file_gets(hub, revision, done, since) == 1, done  # kept from the killed run
