"""The SmallModels the e2e test judged with the real kstatus library (tests/data/kstatus/), read
without a cluster: the table of docs/gitops.md holds, the restated rules agree with the library,
and today's condition code still writes what was recorded. Re-record with
SLMFLEET_RECORD_KSTATUS=1 pytest tests/e2e/test_kstatus_verdicts.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kstatus_rules import kstatus

from slmfleet.api.parse import parse_smallmodel
from slmfleet.reconcile.rollout_conditions import ROLLOUT_REASONS, rollout_verdict

pytestmark = pytest.mark.unit

RECORDED = Path(__file__).resolve().parents[1] / "data" / "kstatus"
EXPECTED = {
    "serving": "Current",
    "canary-step-held": "InProgress",
    "paused": "InProgress",
    "aborted": "Failed",
    "retried": "InProgress",
    "rolled-back": "Failed",
    "progress-deadline": "Failed",
    "does-not-fit": "Failed",
}


def entry(state: str) -> dict[str, Any]:
    return dict(json.loads((RECORDED / f"{state}.json").read_text()))


def test_every_state_was_recorded() -> None:
    assert sorted(p.stem for p in RECORDED.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_the_library_said_what_the_docs_say(state: str) -> None:
    assert entry(state)["kstatus"]["status"] == EXPECTED[state]


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_the_restated_rules_agree_with_the_library(state: str) -> None:
    recorded = entry(state)
    assert kstatus(recorded["object"]) == recorded["kstatus"]["status"]


@pytest.mark.parametrize("state", sorted(set(EXPECTED) - {"serving", "does-not-fit"}))
def test_the_rollout_conditions_are_still_derived_the_same(state: str) -> None:
    obj = entry(state)["object"]
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] in ROLLOUT_REASONS
    model = parse_smallmodel(obj)
    derived = rollout_verdict(model, model.status.template_hash or "")
    assert derived is not None
    assert (derived[0].reason, derived[0].message) == (ready["reason"], ready["message"])
