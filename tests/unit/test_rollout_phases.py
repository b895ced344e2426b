"""The typed rollout phase and its predicates, phase by phase."""

from __future__ import annotations

import pytest

from slmfleet.api.rollout_status import RolloutPhase as P
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.autoscale.state import rollout_active

pytestmark = pytest.mark.unit

# phase: (in_flight, analyzed, moving, rolled_back, both revisions carry traffic)
TABLE = {
    P.PROGRESSING: (True, True, True, False, True),
    P.ANALYZING: (True, True, True, False, True),
    P.PAUSED: (True, True, True, False, True),
    P.PROMOTING: (True, False, True, False, True),
    P.SUCCEEDED: (False, False, False, False, False),
    P.ROLLING_BACK: (True, False, False, True, True),
    P.ROLLED_BACK: (False, False, False, True, False),
    P.FAILED: (True, False, False, True, False),
}


@pytest.mark.parametrize(("phase", "want"), TABLE.items())
def test_predicates(phase: P, want: tuple[bool, ...]) -> None:
    got = (phase.in_flight, phase.analyzed, phase.moving, phase.rolled_back)
    assert got == want[:4]
    assert rollout_active({"rollout": {"phase": phase.value}}) == want[4]


def test_every_phase_is_in_the_table_and_status_parses_to_the_enum() -> None:
    assert set(TABLE) == set(P)
    status = RolloutStatus.model_validate({"phase": "RollingBack"})
    assert (
        status.phase is P.ROLLING_BACK and status.model_dump(mode="json")["phase"] == "RollingBack"
    )
    assert not rollout_active({"rollout": {"phase": "Unknown"}}) and not rollout_active({})
