"""The download Job's process against the Hub stand-in: the real huggingface_hub fetches the
files the engine needs, a second run fetches nothing again, ranges and a missing repo."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from slmfleet.devcluster.hub import HubRepo, HubStandIn, tiny_snapshot
from slmfleet.devcluster.processes import free_port
from slmfleet.weights.names import ENGINE_PATTERNS
from slmfleet.weights.progress import scan

pytestmark = pytest.mark.integration

REPO = "org/tiny"
REV = "a" * 40


def download(hub: HubStandIn, cache: Path) -> int:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(cache.parent / "hf-home"),
        "SLMFLEET_WEIGHTS_REPO": REPO,
        "SLMFLEET_WEIGHTS_REVISION": REV,
        "SLMFLEET_WEIGHTS_PATTERNS": ",".join(ENGINE_PATTERNS),
        "SLMFLEET_WEIGHTS_DIR": str(cache),
    }
    argv = [sys.executable, "-m", "slmfleet.weights.download", "--port", str(free_port())]
    return subprocess.run(argv, env=env, check=False, timeout=120).returncode


def test_the_download_process_against_the_stand_in(tmp_path: Path) -> None:
    files = tiny_snapshot((64 * 1024, 32 * 1024))
    cache = tmp_path / "weights"
    with HubStandIn([HubRepo(REPO, REV, files)]) as hub:
        assert download(hub, cache) == 0
        snapshot = cache / "models--org--tiny" / "snapshots" / REV
        got = {p.name: p.read_bytes() for p in snapshot.iterdir()}
        assert got == {k: v for k, v in files.items() if "/" not in k and k != "README.md"}
        assert len(hub.requests("GET", "/resolve/")) == len(got)
        assert scan(cache, REPO, 0.0) == (sum(map(len, got.values())), len(got))

        assert download(hub, cache) == 0
        assert len(hub.requests("GET", "/resolve/")) == len(got)  # nothing fetched again

        name = "model-00001-of-00002.safetensors"
        req = urllib.request.Request(
            f"{hub.url}/{REPO}/resolve/{REV}/{name}", headers={"Range": "bytes=100-"}
        )
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 206 and resp.read() == files[name][100:]
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{hub.url}/api/models/org/none/revision/main")
        assert missing.value.code == 404


def test_a_missing_repo_fails_the_download(tmp_path: Path) -> None:
    with HubStandIn([]) as hub:
        assert download(hub, tmp_path / "weights") == 1
