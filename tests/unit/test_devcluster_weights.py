"""The local cluster's storage and run-once pods, pure: which claims a backed process sees and
where, the snapshot a simulated engine needs, the volume for a claim, a Job pod's end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slmfleet.builders.weight_cache import CacheRequest, download_job
from slmfleet.devcluster.backing import backing_for
from slmfleet.devcluster.pod_process import finished_status, mapped
from slmfleet.devcluster.volumes import DEV_STORAGE_CLASS, volume_for, wants_volume

pytestmark = pytest.mark.unit

REQ = CacheRequest("team", "Qwen/Qwen3-0.6B", "c0ffee" + "0" * 34, "2Gi", None, "ReadWriteMany",
                   ("*.json",))  # fmt: skip


def job_pod() -> dict[str, Any]:
    template = download_job(REQ, "slmfleet:dev", "http://127.0.0.1:9999")["spec"]["template"]
    return {"metadata": {"name": "p"}, "spec": template["spec"]}


def test_a_download_job_pod_is_backed_once_with_its_claim_and_hub_settings() -> None:
    backing = backing_for(job_pod())
    assert backing is not None
    assert backing.kind == "python" and backing.runs_once
    assert backing.args[0] == "slmfleet.weights.download"
    assert backing.mounts == (("/weights", REQ.name),)
    env = dict(backing.env)
    assert env["SLMFLEET_WEIGHTS_DIR"] == "/weights"
    assert env["HF_ENDPOINT"] == "http://127.0.0.1:9999" and env["HF_HUB_OFFLINE"] == "0"


def test_an_engine_that_loads_offline_names_its_snapshot() -> None:
    pod = {
        "spec": {
            "volumes": [{"name": "weights", "persistentVolumeClaim": {"claimName": "w"}}],
            "containers": [
                {
                    "image": "vllm/vllm-openai:v1",
                    "args": ["Qwen/Qwen3-0.6B", "--revision", "abc", "--port", "8000"],
                    "env": [
                        {"name": "HF_HUB_OFFLINE", "value": "1"},
                        {"name": "HF_HUB_CACHE", "value": "/weights"},
                    ],
                    "volumeMounts": [{"name": "weights", "mountPath": "/weights"}],
                }
            ],
        }
    }
    backing = backing_for(pod)
    assert backing is not None and backing.kind == "sim" and not backing.runs_once
    assert backing.weights == ("Qwen/Qwen3-0.6B", "abc", "/weights")
    pod["spec"]["containers"][0]["env"] = []
    online = backing_for(pod)
    assert online is not None and online.weights is None


def test_paths_under_a_mount_point_at_the_claim_directory() -> None:
    mounts = {"/weights": Path("/data/team-w")}
    assert mapped("/weights", mounts) == "/data/team-w"
    assert mapped("/weights/hub", mounts) == "/data/team-w/hub"
    assert mapped("/weightsx", mounts) == "/weightsx"
    assert mapped("http://x/weights", mounts) == "http://x/weights"


def test_a_dev_class_claim_gets_a_bound_hostpath_volume(tmp_path: Path) -> None:
    claim = {
        "metadata": {"name": "w", "namespace": "team", "uid": "u-1"},
        "spec": {
            "storageClassName": DEV_STORAGE_CLASS,
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "3Gi"}},
        },
    }
    assert wants_volume(claim)
    pv = volume_for(claim, tmp_path / "team-w")
    assert pv["spec"]["claimRef"]["uid"] == "u-1"
    assert pv["spec"]["capacity"] == {"storage": "3Gi"}
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pv["spec"]["hostPath"]["path"] == str(tmp_path / "team-w")
    assert not wants_volume({**claim, "spec": {**claim["spec"], "volumeName": "pvc-u-1"}})
    assert not wants_volume({**claim, "spec": {**claim["spec"], "storageClassName": "other"}})


@pytest.mark.parametrize(
    ("code", "phase", "reason"), [(0, "Succeeded", "Completed"), (137, "Failed", "Error")]
)
def test_a_run_once_pod_ends_with_its_process(code: int, phase: str, reason: str) -> None:
    patch = finished_status(job_pod(), code)["status"]
    assert patch["phase"] == phase
    terminated = patch["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (code, reason)
    ready = next(c for c in patch["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
