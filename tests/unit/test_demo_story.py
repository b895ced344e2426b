"""The demo's narration: analysis in ms and %, router traffic counts, and the two chapters."""

from __future__ import annotations

from collections import Counter

import pytest

from slmfleet.api.parse import parse_smallmodel
from slmfleet.devcluster.demo_story import CHAPTERS, check_text, step_line, traffic_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("check", "text"),
    [
        (
            {"name": "p95TTFTSeconds", "value": 0.8123, "threshold": "<= 2.0", "verdict": "pass"},
            "p95TTFTSeconds 812 ms (<= 2000 ms) pass",
        ),
        (
            {"name": "errorRate", "value": 0.125, "threshold": "<= 0.05", "verdict": "fail"},
            "errorRate 12.5% (<= 5.0%) fail",
        ),
        (
            {"name": "p95TTFTSeconds", "value": None, "threshold": "<= 0.5", "verdict": "nodata"},
            "p95TTFTSeconds no data (<= 500 ms) nodata",
        ),
    ],
)
def test_checks_read_in_ms_and_percent(check: dict[str, object], text: str) -> None:
    assert check_text(check) == text


def test_a_step_line_has_phase_weight_and_checks() -> None:
    line = step_line(
        {
            "phase": "Analyzing",
            "weight": 50,
            "lastAnalysis": [
                {"name": "errorRate", "value": 0.0, "threshold": "<= 0.05", "verdict": "pass"}
            ],
        }
    )
    assert line.split() == [
        "Analyzing", "canary", "weight", "50%", "errorRate", "0.0%", "(<=", "5.0%)", "pass"
    ]  # fmt: skip


def test_a_finished_rollout_names_the_serving_revision() -> None:
    line = step_line({"phase": "Succeeded", "stableRevision": "abc", "weight": 0})
    assert line.split() == ["Succeeded", "serving", "abc"]


def test_traffic_counts_answers_by_revision_and_failures() -> None:
    counts = Counter({"abc": 12, "def": 7, "failed": 1})
    assert traffic_text(counts) == "20 requests through the router (abc 12, def 7), 1 failed"
    assert traffic_text(Counter()) == "0 requests through the router (none answered), 0 failed"


def test_the_chapters_are_valid_changes_promoted_then_rolled_back() -> None:
    assert [c.outcome for c in CHAPTERS] == ["Succeeded", "RolledBack"]
    body = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "metadata": {"name": "qwen3-0.6b"},
        "spec": {
            "source": {"huggingFace": {"repo": "Qwen/Qwen3-0.6B", "revision": "a" * 40}},
            "gpuClassName": "t4",
        },
    }
    for chapter in CHAPTERS:
        spec = body["spec"]
        for key, value in chapter.patch["spec"].items():
            spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) else value
        parse_smallmodel(body)  # raises on an invalid change
