"""`kubectl slm` rollout commands: the rendered status and history, and the annotations set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
import yaml

from slmfleet.cli.completion import candidates
from slmfleet.cli.completion import main as completion_main
from slmfleet.cli.kubectl_slm import _client, build_parser
from slmfleet.cli.revisions import diff_text
from slmfleet.cli.rollout_commands import history_text, status_text

pytestmark = pytest.mark.unit

OLD_SPEC: dict[str, Any] = {
    "source": {"huggingFace": {"repo": "Qwen/Qwen3-0.6B", "revision": "c1899de289a04d12100db3"}},
    "quantization": "none",
    "maxNumSeqs": 16,
}
NEW_SPEC: dict[str, Any] = {
    **OLD_SPEC,
    "quantization": "awq",
    "engine": {"image": "vllm/vllm-openai:v0.33.0"},
}
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
            "lastEval": {
                "suite": "echo",
                "score": 0.5,
                "failedCases": ["c2"],
                "judged": 4,
                "judgeScore": 0.75,
                "reference": {
                    "against": "hosted/api",
                    "cases": 1000,
                    "difference": -0.05,
                    "low": -0.064,
                    "high": -0.036,
                    "maxGap": 0.02,
                    "lost": ["c2"],
                    "verdict": "fail",
                },
                "verdict": "fail",
            },
        },
        "history": [
            {"revision": "aaa", "promotedAt": "t2", "spec": NEW_SPEC},
            {"revision": "zzz", "spec": OLD_SPEC},
        ],
    },
}


def test_status_shows_step_weights_analysis_and_eval() -> None:
    text = status_text(BODY)
    assert "rollout Analyzing" in text
    assert "step     2/2" in text  # step index 1 is the second of two
    assert "stable aaa 50%, canary bbb 50% (by router)" in text  # the default provider
    assert "p95TTFTSeconds" in text and "0.75" in text and "<= 0.5" in text
    assert "eval echo: score 0.5" in text and "failed: c2" in text
    assert "vs hosted/api: -5.0 points (-6.4..-3.6, max gap 2) over 1000 cases fail" in text
    assert "judge: 0.75 over 4 cases" in text


def test_history_says_what_each_revision_is_and_what_changed() -> None:
    lines = history_text(BODY).splitlines()
    assert lines[0].split() == [
        "INDEX", "REVISION", "PROMOTED", "SOURCE", "QUANT", "IMAGE", "CHANGED"
    ]  # fmt: skip
    assert lines[1].split() == [
        "0", "aaa", "t2", "Qwen/Qwen3-0.6B@c1899de289a0", "awq", "vllm/vllm-openai:v0.33.0",
        "engine.image,", "quantization",
    ]  # fmt: skip
    assert lines[2].split()[:5] == ["1", "zzz", "-", "Qwen/Qwen3-0.6B@c1899de289a0", "none"]
    assert "(operator default)" in lines[2]


def test_diff_puts_two_revisions_side_by_side() -> None:
    text, ok = diff_text(BODY, "1", "0")
    assert ok
    rows = [line.split() for line in text.splitlines()]
    assert rows[0] == ["FIELD", "zzz", "aaa"]
    assert ["engine.image", "(unset)", "vllm/vllm-openai:v0.33.0"] in rows
    assert ["quantization", "none", "awq"] in rows
    assert not any(row[0] == "maxNumSeqs" for row in rows)
    text, ok = diff_text(BODY, "aaa", "nope")
    assert not ok and "no kept revision nope" in text and "aaa, zzz" in text


def test_a_fresh_model_says_which_revision_serves() -> None:
    fresh = {
        "metadata": {"name": "qwen"},
        "status": {
            "templateHash": "abc",
            "rollout": {"phase": "Succeeded", "stableRevision": "abc", "weight": 0},
        },
    }
    text = status_text(fresh)
    assert text.splitlines()[0] == "SmallModel qwen: serving revision abc"
    assert "weight" not in text and "Succeeded" not in text and "failed analyses" not in text


def test_a_draining_revision_says_what_it_waits_on() -> None:
    body = {
        "metadata": {"name": "qwen"},
        "status": {
            "templateHash": "new",
            "rollout": {"phase": "Succeeded", "stableRevision": "new"},
            "draining": [
                {"revision": "old", "cause": "Promoted", "stage": "Routing",
                 "message": "waiting for router 10.0.0.7:8080 to stop sending to it"},
            ],
        },
    }  # fmt: skip
    line = status_text(body).splitlines()[-1]
    assert line == (
        "  draining old (Promoted, Routing): waiting for router 10.0.0.7:8080 to stop sending to it"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "qwen", "-n", "team", "--kubeconfig", "kc", "--context", "ctx"],
        ["-n", "team", "--kubeconfig", "kc", "history", "qwen", "--context", "ctx"],
        ["--context", "ctx", "-n", "team", "--kubeconfig", "kc", "history", "qwen"],
    ],
)
def test_flags_go_anywhere(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.name, args.namespace, args.kubeconfig, args.context) == (
        "qwen",
        "team",
        "kc",
        "ctx",
    )


def test_the_client_uses_the_named_context_and_its_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes import config

    seen: dict[str, Any] = {}

    def client(config_file: str | None, context: str | None) -> object:
        seen.update(config_file=config_file, context=context)
        return object()

    contexts = [
        {"name": "dev", "context": {"namespace": "dev-ns"}},
        {"name": "prod", "context": {"namespace": "prod-ns"}},
    ]
    monkeypatch.setattr(config, "new_client_from_config", client)
    monkeypatch.setattr(
        config, "list_kube_config_contexts", lambda config_file: (contexts, contexts[0])
    )
    _, namespace = _client(
        build_parser().parse_args(["status", "--context", "prod", "--kubeconfig", "kc"])
    )
    assert seen == {"config_file": "kc", "context": "prod"}
    assert namespace == "prod-ns"


def _run(argv: list[str], kube: FakeKube) -> int:
    """Run a kubectl slm command against the fake API, in namespace team."""
    args = build_parser(lambda _: (kube, "team")).parse_args(argv)  # type: ignore[arg-type,return-value]
    return int(args.func(args))


def test_output_json_and_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    kube = FakeKube()
    assert _run(["history", "qwen", "-o", "json"], kube) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["revision"] for r in rows] == ["aaa", "zzz"]
    assert rows[0]["changed"] == ["engine.image", "quantization"]
    assert _run(["-o", "yaml", "status", "qwen"], kube) == 0
    assert yaml.safe_load(capsys.readouterr().out)["status"]["rollout"]["canaryRevision"] == "bbb"


def test_status_without_a_name_lists_models_in_every_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kube = FakeKube()
    assert _run(["status", "-A"], kube) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "PHASE", "SERVING", "ROLLOUT"]
    assert lines[1].split()[:4] == ["team", "qwen", "Progressing", "aaa"]
    assert "Analyzing canary bbb at 50%" in lines[1]
    assert kube.listed == [None]
    assert _run(["status"], kube) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[0] == "NAME"
    assert kube.listed == [None, "team"]


def test_diff_command_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["diff", "qwen"], FakeKube()) == 0
    assert "quantization" in capsys.readouterr().out
    assert _run(["diff", "qwen", "0", "7"], FakeKube()) == 2
    assert "no kept revision 7" in capsys.readouterr().err


class FakeKube:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.listed: list[str | None] = []

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        self.listed.append(namespace)
        status = {**BODY["status"], "phase": "Progressing"}
        return [{**BODY, "metadata": {"name": "qwen", "namespace": "team"}, "status": status}]

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
    assert _run(argv, kube) == 0
    assert kube.patches == [{"metadata": {"annotations": {key: value}}}]


def test_plugin_lists_the_rollout_commands() -> None:
    help_text = build_parser().format_help()
    for cmd in ("status", "promote", "abort", "retry", "rollback", "history", "diff"):
        assert cmd in help_text


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["hi"], ["history"]),
        (
            [""],
            [
                "abort",
                "cost",
                "diff",
                "history",
                "plan",
                "promote",
                "retry",
                "rollback",
                "status",
                "top",
                "version",
            ],
        ),
        (["rollback", "--to"], ["--to-revision"]),
        (["-n", "team", "history", "q"], ["qwen", "qwen-big"]),
        (["version", ""], []),
    ],
)
def test_completion_offers_subcommands_flags_and_model_names(
    words: list[str], expected: list[str]
) -> None:
    seen: list[list[str]] = []

    def names(done: Sequence[str]) -> list[str]:
        seen.append(list(done))
        return ["other", "qwen", "qwen-big"]

    assert candidates(build_parser(), words, names) == expected
    if seen:
        assert seen == [words[:-1]]  # the flags so far choose the namespace


def test_completion_prints_cobra_directive(capsys: pytest.CaptureFixture[str]) -> None:
    assert completion_main(["sta"]) == 0
    assert capsys.readouterr().out.splitlines() == ["status", ":4"]


def test_status_shows_the_weight_cache_and_the_last_cold_start() -> None:
    cached = {
        "metadata": {"name": "m"},
        "status": {
            "templateHash": "r2",
            "cache": {"name": "weights-1", "phase": "Downloading", "progress": "25% of 12.0 MiB, 2/7 files"},
            "coldStarts": [
                {"revision": "r2", "downloadSeconds": 0.0, "scheduleSeconds": 1.0,
                 "loadSeconds": 3.5, "totalSeconds": 4.5},
            ],
        },
    }  # fmt: skip
    text = status_text(cached)
    assert "cache    weights-1 Downloading: 25% of 12.0 MiB, 2/7 files" in text
    assert "cold start r2: download 0s, schedule 1s, load 3.5s, total 4.5s" in text
    assert "node" not in text
    cached["status"]["cache"]["node"] = "gpu-a"  # a ReadWriteOnce cache
    assert "ReadWriteOnce: replicas run on node gpu-a only" in status_text(cached)
