"""A backed pod's process (local cluster): its command line and environment, what it sees of its
pod's volumes, and how a run-once pod ends.

A claim's directory (volumes.py) stands in for the mount: environment values under a mount path
are pointed at it. A simulator standing in for vLLM that loads offline from a weight cache is
started only when the snapshot is complete there. A Job's pod ends with its process: the status
a kubelet would write (Succeeded or Failed, the container terminated with its exit code).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download

from slmfleet.devcluster import tools
from slmfleet.devcluster.backing import Backing
from slmfleet.devcluster.volumes import claim_host_path
from slmfleet.k8s import Kube
from slmfleet.timefmt import format_time
from slmfleet.weights.names import ENGINE_PATTERNS


def mapped(value: str, mounts: Mapping[str, Path]) -> str:
    """``value`` with a leading mount path replaced by the claim's directory."""
    for mount, directory in mounts.items():
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(directory) + value[len(mount.rstrip("/")) :]
    return value


def claim_directories(kube: Kube, namespace: str, backing: Backing) -> dict[str, Path]:
    """Mount path -> the directory of the claim mounted there (bound claims only)."""
    out = {}
    for mount, claim in backing.mounts:
        directory = claim_host_path(kube, namespace, claim)
        if directory is not None:
            out[mount] = directory
    return out


def process_env(kube: Kube, namespace: str, backing: Backing) -> dict[str, str]:
    """The backing's environment with paths on claims pointed at their directories."""
    mounts = claim_directories(kube, namespace, backing)
    return {k: mapped(v, mounts) for k, v in backing.env}


def sim_argv(
    backing: Backing, sim: str, port: int, hub_endpoint: str | None, scratch: Path
) -> list[str]:
    """The simulator's command line; with a Hub endpoint, an engine without a weight cache first
    downloads its snapshot into ``scratch`` (its emptyDir), as vLLM does on start."""
    argv = [sim, *backing.args, "--port", str(port)]
    if hub_endpoint is None or backing.fetch is None:
        return argv
    repo, revision = backing.fetch
    fetch = ["--endpoint", hub_endpoint, "--repo", repo, "--revision", revision]
    return [sys.executable, "-m", "slmfleet.devcluster.engine_start", *fetch,
            "--cache", str(scratch), "--", *argv]  # fmt: skip


@dataclass(frozen=True)
class Where:
    """Where a backed process runs: its pod's namespace, its port and the cluster's files."""

    namespace: str
    port: int
    kubeconfig: Path
    workdir: Path
    hub_endpoint: str | None = None


def process_argv(
    kube: Kube, backing: Backing, where: Where
) -> tuple[list[str], dict[str, str] | None]:
    """The command line and environment (None: the backer's own) of a pod's process."""
    if backing.kind == "sim":
        sim = str(tools.require("llm-d-inference-sim"))
        scratch = where.workdir / "engine-caches" / f"{where.namespace}-{where.port}"
        argv = sim_argv(backing, sim, where.port, where.hub_endpoint, scratch)
        return argv, ({**os.environ, "HF_HUB_OFFLINE": "0"} if argv[0] != sim else None)
    env = {**os.environ, **process_env(kube, where.namespace, backing)}
    env.update({"KUBECONFIG": str(where.kubeconfig), "SLMFLEET_LISTEN_PORT": str(where.port)})
    return [sys.executable, "-m", *backing.args, "--port", str(where.port)], env


def missing_snapshot(kube: Kube, namespace: str, backing: Backing) -> str | None:
    """Why the offline snapshot the engine loads is not usable, or None when it is."""
    if backing.weights is None:
        return None
    repo, revision, cache = backing.weights
    directory = mapped(cache, claim_directories(kube, namespace, backing))
    if directory == cache:
        return f"the weight cache {cache} is not on a bound claim"
    try:
        snapshot_download(
            repo,
            revision=revision,
            cache_dir=directory,
            local_files_only=True,
            allow_patterns=list(ENGINE_PATTERNS),
        )
    except Exception as err:  # what vLLM would die of
        return f"{repo}@{revision} is not complete in {directory}: {err}"
    return None


def finished_status(pod: Mapping[str, Any], returncode: int) -> dict[str, Any]:
    """The status patch of a pod whose only container exited with ``returncode`` (a signal's
    negative number counts as a shell does, 128 + the signal)."""
    exit_code = returncode if returncode >= 0 else 128 - returncode
    now = format_time(datetime.now(UTC), whole_seconds=True)
    containers = (pod.get("spec") or {}).get("containers") or []
    statuses = [
        {
            "name": c.get("name"),
            "image": c.get("image"),
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                    "finishedAt": now,
                }
            },
        }
        for c in containers
    ]
    conditions = [
        {"type": kind, "status": status, "lastTransitionTime": now}
        for kind, status in (
            ("PodScheduled", "True"), ("Initialized", "True"),
            ("ContainersReady", "False"), ("Ready", "False"),
        )
    ]  # fmt: skip
    phase = "Succeeded" if exit_code == 0 else "Failed"
    return {"status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses}}
