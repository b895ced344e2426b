"""The unit tier is hermetic: no setting leaks in from the environment.

Integration fixtures set ``SLMFLEET_*`` variables for code they call in-process, and a full run
collects e2e and integration before unit; without this, a unit test would see the dev cluster's
Prometheus and judge a different plan than the one it names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from slmfleet.config import settings


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each unit test starts from the defaults; one that sets a variable sets it itself."""
    for name in [n for n in os.environ if n.startswith("SLMFLEET_")]:
        monkeypatch.delenv(name)
    settings.cache_clear()
    yield
    settings.cache_clear()
