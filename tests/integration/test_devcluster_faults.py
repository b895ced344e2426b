"""Faults in the local cluster are reported by name with their log, and nothing is left running."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from slmfleet.devcluster import tools
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.processes import ComponentDiedError, ManagedProcess, wait_until
from slmfleet.devcluster.tool_pins import GoModuleFiles, GoTool

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_port_in_use_names_the_component_and_shows_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        etcd = ManagedProcess(
            "etcd",
            [
                str(tools.require("etcd")),
                f"--data-dir={tmp_path / 'etcd'}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                "--listen-peer-urls=http://127.0.0.1:0",
            ],
            tmp_path / "etcd.log",
        ).start()
        try:
            with pytest.raises(ComponentDiedError) as err:
                wait_until("etcd", lambda: False, timeout=30, proc=etcd)
        finally:
            etcd.stop()
    message = str(err.value)
    assert message.startswith("etcd (pid")
    assert "address already in use" in message


def test_a_crashed_component_is_reported_and_stop_leaves_nothing(tmp_path: Path) -> None:
    cluster = DevCluster([FakeGPUNode("n0", "NVIDIA-L4")], workdir=tmp_path, prometheus=False)
    cluster.start()
    try:
        pids = cluster.pids()
        assert set(pids) == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        }
        assert all(alive(pid) for pid in pids.values())
        os.kill(pids["kube-scheduler"], signal.SIGKILL)
        with pytest.raises(ComponentDiedError) as err:
            wait_until(
                "the crash to be seen",
                lambda: False,
                timeout=10,
                proc=next(p for p in cluster.procs.processes if p.name == "kube-scheduler"),
            )
        assert "kube-scheduler" in str(err.value)
        with pytest.raises(ComponentDiedError, match=r"kube-scheduler .* exited"):
            cluster.check()
    finally:
        cluster.stop()
    assert not any(alive(pid) for pid in pids.values())


def test_a_missing_tool_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SLMFLEET_TOOLS_DIR", str(tmp_path))
    with pytest.raises(tools.ToolError, match=r"kwok is not built .*make tools"):
        tools.require("kwok")


def test_a_failed_build_names_the_tool_and_the_retry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = tmp_path / "hack" / "broken"
    module.mkdir(parents=True)
    (module / "go.mod").write_text("module example.com/broken\n\ngo 1.22\n")
    (module / "main.go").write_text("package main\n\nfunc main() { this is not go }\n")
    monkeypatch.setenv("SLMFLEET_HACK_DIR", str(tmp_path / "hack"))
    monkeypatch.setenv("SLMFLEET_TOOLS_DIR", str(tmp_path / "cache"))
    broken = GoTool("broken", "broken", "v0", (".",), ("broken",))
    with pytest.raises(tools.ToolError) as err:
        tools.build(broken, log=lambda _: None)
    assert "building broken v0 failed" in str(err.value)
    assert "make tools" in str(err.value)
    assert not any((tmp_path / "cache").glob("broken-*")), "no half-built cache entry is left"


def test_a_failed_fetch_names_the_bundle_and_the_retry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = tmp_path / "hack" / "missing"
    module.mkdir(parents=True)
    (module / "go.mod").write_text("module example.com/missing\n\ngo 1.22\n")
    monkeypatch.setenv("SLMFLEET_HACK_DIR", str(tmp_path / "hack"))
    monkeypatch.setenv("SLMFLEET_TOOLS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GOPROXY", "off")  # nothing may be downloaded: the module is not cached
    missing = GoModuleFiles("missing", "missing", "v9.9.9", "example.com/nothing", "crds")
    with pytest.raises(tools.ToolError) as err:
        tools.fetch(missing, log=lambda _: None)
    assert "fetching missing v9.9.9 failed" in str(err.value)
    assert "make tools" in str(err.value)
    assert not any((tmp_path / "cache").glob("missing-*")), "no half-filled cache entry is left"
    with pytest.raises(tools.ToolError, match=r"missing v9\.9\.9 is not fetched"):
        tools.bundle_files(missing)
