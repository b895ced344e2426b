"""The local cluster ends a deleted pod on a kubelet's timetable: preStop, SIGTERM, SIGKILL."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.devcluster.termination import Termination, pre_stop_seconds, termination_of

pytestmark = pytest.mark.unit


def pod(grace: Any = None, deletion_grace: Any = None, *hooks: dict[str, Any]) -> dict[str, Any]:
    meta = {} if deletion_grace is None else {"deletionGracePeriodSeconds": deletion_grace}
    spec: dict[str, Any] = {"containers": [{"lifecycle": {"preStop": h}} for h in hooks]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": meta, "spec": spec}


@pytest.mark.parametrize(
    ("hook", "seconds"),
    [
        ({"sleep": {"seconds": 7}}, 7.0),
        ({"exec": {"command": ["sleep", "5"]}}, 5.0),
        ({"exec": {"command": ["/bin/sleep", "3"]}}, 3.0),
        ({"exec": {"command": ["sh", "-c", "sleep 5"]}}, 0.0),  # not a wait the cluster can see
        ({"httpGet": {"path": "/drain", "port": 8000}}, 0.0),
        ({"exec": {"command": ["sleep", "soon"]}}, 0.0),
    ],
)
def test_prestop_waits_the_local_cluster_understands(hook: dict[str, Any], seconds: float) -> None:
    assert pre_stop_seconds({"lifecycle": {"preStop": hook}}) == seconds
    assert pre_stop_seconds({}) == 0.0


def test_the_grace_period_comes_from_the_deletion_then_the_pod() -> None:
    assert termination_of(pod()) == Termination(0.0, 30.0)
    assert termination_of(pod(45)) == Termination(0.0, 45.0)
    assert termination_of(pod(45, 10)).grace == 10.0  # kubectl delete --grace-period=10
    assert termination_of(pod(45, 0)).grace == 0.0  # a forced deletion


def test_prestop_is_the_longest_hook_and_never_past_the_grace_period() -> None:
    short, long = {"sleep": {"seconds": 2}}, {"exec": {"command": ["sleep", "9"]}}
    assert termination_of(pod(30, None, short, long)).pre_stop == 9.0
    assert termination_of(pod(4, None, short, long)).pre_stop == 4.0


def test_sigterm_gets_what_is_left_of_the_grace_period_but_at_least_two_seconds() -> None:
    plan = Termination(pre_stop=5.0, grace=45.0)
    assert plan.term_window(5.0) == 40.0
    assert plan.term_window(44.5) == 2.0
