"""`slmfleet dev demo --exit-after` tells its whole story on its own local cluster.

The demo boots a second control plane (not the session cluster), promotes one canary and rolls a
slow one back while a client sends requests through the router, and exits once that is told.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXIT_AFTER_SECONDS = "480"


def test_the_demo_promotes_then_rolls_back(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "slmfleet.cli.main",
            "dev",
            "demo",
            "--exit-after",
            EXIT_AFTER_SECONDS,
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    out = run.stdout
    assert run.returncode == 0, out[-4000:] + run.stderr[-4000:]
    log = re.search(r"Operator log:\s+(\S+)", out)
    assert log is not None and Path(log.group(1)).is_file()
    promoted, rolled_back = out.index("promoted:"), out.index("rolled back:")
    assert promoted < rolled_back
    assert re.search(r"p95TTFTSeconds \d+ ms \(<= 2000 ms\) pass", out)
    assert re.search(r"p95TTFTSeconds \d+ ms \(<= 500 ms\) fail", out)
    assert re.search(r"errorRate \d+\.\d% \(<= 5\.0%\)", out)
    totals = re.findall(
        r"during the rollout: (\d+) requests through the router .*, (\d+) failed", out
    )
    assert len(totals) == 2 and all(int(sent) > 0 for sent, _ in totals), totals
    assert "The story is complete." in out
    # the model the story sent traffic to shows what it cost per million tokens
    assert re.search(r"default/qwen3-0\.6b: \{.*costPer1MTokens: \d", out), out[-2000:]
    assert "every process it started has exited" in out
