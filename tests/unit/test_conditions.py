"""kstatus condition computation: statuses, reasons, transition times and transitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slmfleet.conditions import Report, Transition, Verdict, conditions_for, reported

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 12, 5, 0, tzinfo=UTC)


def by_type(conds: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in conds}


@pytest.mark.parametrize(
    ("verdict", "ready", "reconciling", "stalled"),
    [
        (Verdict(True, "Available", "2/2 replicas ready"), "True", "False", "False"),
        (Verdict(False, "Progressing", "0/2 ready", reconciling=True), "False", "True", "False"),
        (Verdict(False, "DoesNotFit", "needs 30 GiB", stalled=True), "False", "False", "True"),
        (
            Verdict(False, "DoesNotFit", "x", stalled=True, reconciling=True),
            "False",
            "False",
            "True",
        ),
    ],
)
def test_statuses(verdict: Verdict, ready: str, reconciling: str, stalled: str) -> None:
    conds, _ = conditions_for(verdict, [], generation=3, now=T0)
    got = by_type(conds)
    assert (got["Ready"]["status"], got["Reconciling"]["status"], got["Stalled"]["status"]) == (
        ready,
        reconciling,
        stalled,
    )
    assert all(c["observedGeneration"] == 3 for c in conds)
    assert got["Ready"]["reason"] == verdict.reason


def test_transition_time_kept_while_status_unchanged() -> None:
    first, _ = conditions_for(Verdict(True, "Available", "1/1"), [], 1, T0)
    second, transitions = conditions_for(Verdict(True, "Available", "2/2"), first, 2, T1)
    assert by_type(second)["Ready"]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert transitions == []


def test_transition_time_moves_and_transition_reported_on_change() -> None:
    first, _ = conditions_for(Verdict(True, "Available", "1/1"), [], 1, T0)
    second, transitions = conditions_for(
        Verdict(False, "DoesNotFit", "too big", stalled=True), first, 2, T1
    )
    assert by_type(second)["Ready"]["lastTransitionTime"] == "2026-01-01T12:05:00Z"
    kinds = {(t.type, t.status, t.warning) for t in transitions}
    assert ("Stalled", "True", True) in kinds
    assert ("Ready", "False", True) in kinds


def test_first_reconcile_reports_only_true_conditions_and_ready() -> None:
    _, transitions = conditions_for(
        Verdict(False, "Progressing", "0/1", reconciling=True), [], 1, T0
    )
    assert {(t.type, t.status) for t in transitions} == {
        ("Ready", "False"),
        ("Reconciling", "True"),
    }


def test_one_event_for_the_transitions_of_one_reconcile() -> None:
    first, transitions = conditions_for(Verdict(False, "Creating", "no Deployment yet",
                                                reconciling=True), [], 1, T0)  # fmt: skip
    assert len(transitions) == 2  # Ready and Reconciling both changed
    (event,) = reported(transitions)
    assert event.reason == "Creating" and not event.warning
    assert event.message == "Ready=False: no Deployment yet; Reconciling=True"
    _, transitions = conditions_for(Verdict(True, "Available", "1/1"), first, 1, T1)
    (event,) = reported(transitions)
    assert (event.reason, event.message) == ("Available", "Ready=True: 1/1; Reconciling=False")


def test_a_stalled_model_is_one_warning_and_a_lone_transition_its_own_event() -> None:
    _, transitions = conditions_for(
        Verdict(False, "DoesNotFit", "too big", stalled=True), [], 1, T0
    )
    (event,) = reported(transitions)
    assert event.reason == "DoesNotFit" and event.warning and "Stalled=True" in event.message
    lone = Transition("Reconciling", "True", "Progressing", "rolling out", False)
    assert reported([lone]) == [Report("Progressing", "Reconciling=True: rolling out", False)]
