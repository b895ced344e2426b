"""The Argo CD health check (charts/slmfleet/argocd/health.lua) run by a real Lua interpreter
(lupa) on the SmallModels the e2e tier recorded (tests/data/kstatus/) and on the ModelRoutes it
recorded (tests/data/argocd/): the Argo CD column of docs/gitops.md."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lupa import LuaRuntime

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SCRIPT = (REPO / "charts" / "slmfleet" / "argocd" / "health.lua").read_text()
KSTATUS = REPO / "tests" / "data" / "kstatus"
ROUTES = REPO / "tests" / "data" / "argocd"

SMALLMODEL = {
    "serving": "Healthy",
    "canary-step-held": "Suspended",
    "paused": "Suspended",
    "aborted": "Degraded",
    "retried": "Progressing",
    "rolled-back": "Degraded",
    "progress-deadline": "Degraded",
    "does-not-fit": "Degraded",
}
MODELROUTE = {
    "modelroute-resolved": "Healthy",
    "modelroute-waiting": "Progressing",
    "modelroute-stalled": "Degraded",
}


def health(obj: dict[str, Any]) -> dict[str, str]:
    """What Argo CD would show: the script run with ``obj`` as its global, as Argo CD does."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT)
    return {key: str(value) for key, value in dict(result).items()}


def recorded(folder: Path, state: str) -> dict[str, Any]:
    return dict(json.loads((folder / f"{state}.json").read_text())["object"])


@pytest.mark.parametrize(("state", "want"), sorted(SMALLMODEL.items()))
def test_smallmodel_states(state: str, want: str) -> None:
    obj = recorded(KSTATUS, state)
    got = health(obj)
    assert got["status"] == want, got
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] in got["message"]


def test_every_recorded_smallmodel_state_has_a_row() -> None:
    assert sorted(p.stem for p in KSTATUS.glob("*.json")) == sorted(SMALLMODEL)


@pytest.mark.parametrize(("state", "want"), sorted(MODELROUTE.items()))
def test_modelroute_states(state: str, want: str) -> None:
    obj = recorded(ROUTES, state)
    assert obj["kind"] == "ModelRoute"
    assert health(obj)["status"] == want


def test_a_generation_not_observed_yet_is_progressing_whatever_the_conditions_say() -> None:
    for state in ("serving", "rolled-back"):
        obj = copy.deepcopy(recorded(KSTATUS, state))
        obj["metadata"]["generation"] = obj["status"]["observedGeneration"] + 1
        got = health(obj)
        assert got["status"] == "Progressing"
        assert str(obj["metadata"]["generation"]) in got["message"]


def test_an_object_without_status_is_progressing() -> None:
    obj = recorded(KSTATUS, "serving")
    got = health({"metadata": obj["metadata"], "spec": obj["spec"]})
    assert got["status"] == "Progressing"


def test_the_docs_table_gives_the_same_column() -> None:
    text = (REPO / "docs" / "gitops.md").read_text()
    for want in set(SMALLMODEL.values()):
        assert f"| {want} |" in text
