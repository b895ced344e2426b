"""`kubectl slm` rollout commands: the rendered status and history, and the annotations set."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from slmfleet.cli.kubectl_slm import build_parser
from slmfleet.cli.rollout_commands import add_rollout_commands, history_text, status_text

pytestmark = pytest.mark.unit

BODY: dict[str, Any] = {
    "metadata": {"name": "qwen"},
    "spec": {"rollout": {"steps": [{"weight": 25}, {"weight": 50}]}},
    "status": {
        "rollout": {
            "phase": "Analyzing",
            "stableRevision": "aaa",
            "canaryRevision": "bbb",
            "step": 1,
            "weight": 50,
            "failedChecks": 1,
            "lastAnalysis": [
                {"name": "p95TTFTSeconds", "value": 0.75, "threshold": "<= 0.5", "verdict": "fail"}
            ],
            "lastEval": {"suite": "echo", "score": 0.5, "failedCases": ["c2"], "verdict": "fail"},
        },
        "history": [{"revision": "aaa", "promotedAt": "t2"}, {"revision": "zzz"}],
    },
}


def test_status_shows_step_weights_analysis_and_eval() -> None:
    text = status_text(BODY)
    assert "rollout Analyzing" in text
    assert "step     2/2" in text  # step index 1 is the second of two
    assert "stable aaa 50%, canary bbb 50% (by router)" in text  # the default provider
    assert "p95TTFTSeconds" in text and "0.75" in text and "<= 0.5" in text
    assert "eval echo: score 0.5" in text and "failed: c2" in text


def test_history_lists_indexes_newest_first() -> None:
    lines = history_text(BODY).splitlines()
    assert lines[1].split()[:3] == ["0", "aaa", "t2"]
    assert lines[2].split()[:3] == ["1", "zzz", "-"]


class FakeKube:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return BODY

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any], ns: str | None) -> None:
        self.patches.append(patch)


@pytest.mark.parametrize(
    ("argv", "key", "value"),
    [
        (["promote", "qwen"], "slmfleet.io/promote", "true"),
        (["abort", "qwen"], "slmfleet.io/abort", "true"),
        (["retry", "qwen"], "slmfleet.io/retry", "true"),
        (["rollback", "qwen"], "slmfleet.io/rollback-to", "1"),
        (["rollback", "qwen", "--to-revision", "2"], "slmfleet.io/rollback-to", "2"),
    ],
)
def test_actions_set_the_annotation(argv: list[str], key: str, value: str) -> None:
    kube = FakeKube()
    parser = argparse.ArgumentParser()
    add_rollout_commands(parser.add_subparsers(), lambda _: (kube, "team"))  # type: ignore[arg-type,return-value]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    assert kube.patches == [{"metadata": {"annotations": {key: value}}}]


def test_plugin_lists_the_rollout_commands() -> None:
    help_text = build_parser().format_help()
    for cmd in ("status", "promote", "abort", "retry", "rollback", "history"):
        assert cmd in help_text
