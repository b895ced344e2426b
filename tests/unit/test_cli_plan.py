"""`slmfleet plan FILE`: built-in GPUClasses when the files name none, and one short Hub attempt."""

from __future__ import annotations

import socket
from pathlib import Path

import huggingface_hub
import pytest

from slmfleet.cli.main import main
from slmfleet.cli.plan import BUILTIN_GPUCLASSES, builtin_gpuclass_docs
from slmfleet.planner import hub

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "manifests" / "examples"


def test_builtin_gpuclasses_are_the_examples() -> None:
    packaged = REPO / "operator" / "slmfleet" / "planner" / BUILTIN_GPUCLASSES
    assert packaged.read_text() == (EXAMPLES / "gpuclasses.yaml").read_text()
    names = {d["metadata"]["name"] for d in builtin_gpuclass_docs()}
    assert {"t4", "l4", "a10g", "h100-80gb"} <= names


def test_plan_without_gpuclasses_uses_the_builtin_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    hub.clear_facts_cache()
    code = main(["plan", str(EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml")])
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "built-in" in err
    assert "FITS: Fits on t4" in out
    assert "h100-80gb" in out  # the fit matrix covers every built-in class
    assert "activation peak" in out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_hub_switches_to_offline_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    note = hub.offline_unless_reachable(timeout=1.0, endpoint=endpoint)
    assert note is not None and "\n" not in note
    assert "unreachable" in note and "offline catalog" in note
    assert hub.hub_offline()
    # Already offline: no second attempt, nothing to say.
    assert hub.offline_unless_reachable(timeout=1.0, endpoint=endpoint) is None


def test_a_reachable_hub_stays_online(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
        assert hub.offline_unless_reachable(timeout=1.0, endpoint=endpoint) is None
    assert not hub.hub_offline()
