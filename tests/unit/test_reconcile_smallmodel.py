"""The SmallModel decision: children, engine arguments, scheduling and status, from observations."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from planner_gpus import example_gpuclasses

from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.planner import catalog_facts
from slmfleet.reconcile.smallmodel import (
    DeploymentState,
    Observed,
    decide,
    gpu_spec,
    token_problem,
)

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
IMAGE = "vllm/vllm-openai:test"


gpuclasses = example_gpuclasses


def model(**spec_overrides: Any) -> SmallModel:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    body["spec"].update(spec_overrides)
    return parse_smallmodel(body)


def observed(cls: str = "l4", deployment: DeploymentState | None = None, **kw: Any) -> Observed:
    classes = gpuclasses()
    return Observed(
        gpuclass=classes.get(cls),
        facts=catalog_facts("Qwen/Qwen2.5-3B-Instruct"),
        deployment=deployment,
        other_gpuclasses=tuple(gpu_spec(n, s) for n, s in classes.items()),
        **kw,
    )


def engine(decision_children: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return next(c for c in decision_children if c["kind"] == "Deployment")


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_children_are_deployment_service_and_pdb_all_owned() -> None:
    d = decide(model(), observed(), IMAGE)
    assert [c["kind"] for c in d.children] == ["Deployment", "Service", "PodDisruptionBudget"]
    for child in d.children:
        owner = child["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "SmallModel",
            "qwen2.5-3b",
            "uid-1",
            True,
        )
        assert child["metadata"]["namespace"] == "team"


def test_engine_arguments_come_from_spec_and_plan() -> None:
    d = decide(model(), observed(), IMAGE)
    container = engine(d.children)["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[0] == "Qwen/Qwen2.5-3B-Instruct"
    assert flag(args, "--revision") == "e907242d3aa567d7032b2fd604fc4e4e963b0dec"
    assert flag(args, "--served-model-name") == "qwen2.5-3b"
    assert flag(args, "--max-model-len") == "8192"
    assert flag(args, "--max-num-seqs") == "32"
    assert flag(args, "--tensor-parallel-size") == "1"
    assert d.plan is not None
    assert flag(args, "--gpu-memory-utilization") == f"{d.plan.gpu_memory_utilization:.2f}"
    assert args[-1] == "--max-num-batched-tokens=8192"  # extra args go last
    assert "--quantization" not in args
    assert container["image"] == IMAGE
    assert container["ports"][0]["containerPort"] == 8000


@pytest.mark.parametrize(("drain", "grace"), [(None, 45), (120, 135), (0, 15)])
def test_engine_pods_drain_before_they_stop(drain: int | None, grace: int) -> None:
    spec = model().spec.engine.model_dump(by_alias=True, exclude_none=True)
    engine_spec = spec if drain is None else {**spec, "drainTimeoutSeconds": drain}
    pod = engine(decide(model(engine=engine_spec), observed(), IMAGE).children)["spec"]["template"]
    container = pod["spec"]["containers"][0]
    # Wait for endpoint removal, then SIGTERM: vLLM drains for --shutdown-timeout seconds.
    assert container["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "5"]}}
    assert flag(container["args"], "--shutdown-timeout") == str(30 if drain is None else drain)
    assert pod["spec"]["terminationGracePeriodSeconds"] == grace


def test_gpu_resources_scheduling_probes_and_shm() -> None:
    dep = engine(decide(model(), observed(), IMAGE).children)
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["cpu"] == "4"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    # the startup probe allows at least 20 minutes of weight loading
    assert (
        container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"]
        >= 1200
    )
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert pod["enableServiceLinks"] is False


def test_template_hash_changes_with_serving_settings_only() -> None:
    base = engine(decide(model(), observed(), IMAGE).children)
    same = engine(decide(model(), observed(), IMAGE).children)
    longer = engine(decide(model(maxModelLen=16384), observed(), IMAGE).children)
    scaled = engine(decide(model(replicas=3), observed(), IMAGE).children)
    rev = base["metadata"]["labels"][REVISION_LABEL]
    assert len(rev) == 10
    assert same["metadata"]["labels"][REVISION_LABEL] == rev
    assert longer["metadata"]["labels"][REVISION_LABEL] != rev
    assert scaled["metadata"]["labels"][REVISION_LABEL] == rev
    assert scaled["spec"]["replicas"] == 3
    assert base["spec"]["template"]["metadata"]["labels"][REVISION_LABEL] == rev


def test_service_is_never_named_vllm() -> None:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"].update({"name": "vllm", "namespace": "team", "uid": "u"})
    d = decide(parse_smallmodel(body), observed(), IMAGE)
    svc = next(c for c in d.children if c["kind"] == "Service")
    assert svc["metadata"]["name"].startswith("vllm-") and svc["metadata"]["name"] != "vllm"


@pytest.mark.parametrize(
    ("model_name", "prefix"),
    [
        ("qwen2", "qwen2"),
        ("qwen3-0.6b", "qwen3-0-6b-"),
        ("0.5b-chat", "m-0-5b-chat-"),
        ("a" * 63, "a" * 57),
    ],
)
def test_service_names_are_dns1035_and_distinct(model_name: str, prefix: str) -> None:
    from slmfleet.builders.labels import DNS1035, service_name

    name = service_name(model_name)
    assert DNS1035.match(name), name
    assert name.startswith(prefix)
    assert len(name) <= 63
    assert service_name("qwen3-0-6b") != service_name("qwen3-0.6b")


def test_hf_token_comes_from_the_secret() -> None:
    m = model(
        source={
            "huggingFace": {
                "repo": "Qwen/Qwen2.5-3B-Instruct",
                "revision": "v1.0",
                "tokenSecretRef": {"name": "hf", "key": "token"},
            }
        }
    )
    env = engine(decide(m, observed(), IMAGE).children)["spec"]["template"]["spec"]["containers"][
        0
    ]["env"]
    token = next(e for e in env if e["name"] == "HF_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hf", "key": "token"}


@pytest.mark.parametrize(
    ("cls", "overrides", "reason", "message_part"),
    [
        ("missing", {}, "GPUClassNotFound", "does not exist"),
        ("t4", {"maxModelLen": 32768, "dtype": "bfloat16"}, "DoesNotFit", "bfloat16"),
        (
            "a100-80gb-mig-1g.10gb",
            {"dtype": "float32"},
            "DoesNotFit",
            "The smallest GPUClass that fits is l4",
        ),
    ],
)
def test_stalled_decisions_touch_nothing(
    cls: str, overrides: dict[str, Any], reason: str, message_part: str
) -> None:
    d = decide(model(gpuClassName=cls, **overrides), observed(cls), IMAGE)
    assert d.children == ()
    assert d.verdict.stalled and not d.verdict.ready
    assert d.verdict.reason == reason
    assert message_part in d.verdict.message
    assert d.status["phase"] == "Stalled"


def test_unknown_model_facts_stall_with_the_reason() -> None:
    obs = dataclasses.replace(observed(), facts=None, facts_error="repo not found: x/y")
    d = decide(model(), obs, IMAGE)
    assert (d.verdict.reason, d.verdict.message, d.children) == (
        "ModelFactsUnavailable",
        "repo not found: x/y",
        (),
    )


def state(ready: int, replicas: int, rev: str, gen: int = 1, obs_gen: int = 1) -> DeploymentState:
    return DeploymentState(gen, obs_gen, replicas, ready, replicas, rev)


@pytest.mark.parametrize(
    ("ready", "replicas", "same_rev", "unschedulable", "want_reason", "want_phase", "is_ready"),
    [
        (2, 2, True, None, "Available", "Ready", True),
        (1, 2, True, None, "Degraded", "Degraded", False),
        (
            0,
            2,
            True,
            "0/4 nodes are available: Insufficient nvidia.com/gpu",
            "Unschedulable",
            "Pending",
            False,
        ),
        (2, 2, False, None, "Progressing", "Progressing", False),
        (2, 3, True, None, "Progressing", "Progressing", False),
    ],
)
def test_readiness_from_the_deployment(
    ready: int,
    replicas: int,
    same_rev: bool,
    unschedulable: str | None,
    want_reason: str,
    want_phase: str,
    is_ready: bool,
) -> None:
    m = model(replicas=2, maxReplicas=4)
    rev = engine(decide(m, observed(), IMAGE).children)["metadata"]["labels"][REVISION_LABEL]
    dep = state(ready, replicas, rev if same_rev else "old")
    d = decide(m, observed(deployment=dep, unschedulable=unschedulable), IMAGE)
    assert (d.verdict.reason, d.status["phase"], d.verdict.ready) == (
        want_reason,
        want_phase,
        is_ready,
    )
    assert d.status["readyReplicas"] == ready
    if unschedulable:
        assert "Insufficient nvidia.com/gpu" in d.verdict.message


def test_status_schema_keeps_every_plan_field() -> None:
    """The API server prunes undeclared status fields: FitPlan must declare the whole summary."""
    from slmfleet.api.smallmodel_status import FitPlan

    d = decide(model(), observed(), IMAGE)
    summary = d.status["plan"]
    assert set(summary) <= set(FitPlan.model_validate(summary).model_dump(by_alias=True))


@pytest.mark.parametrize(
    ("exists", "has_key", "fragment"),
    [(False, False, "Secret 'hf' named in"), (True, False, "Secret 'hf' has no key 'HF_TOKEN'")],
)
def test_an_unusable_token_secret_stalls_the_model_naming_it(
    exists: bool, has_key: bool, fragment: str
) -> None:
    problem = token_problem("hf", "HF_TOKEN", exists, has_key)
    assert problem is not None and fragment in problem
    d = decide(model(), observed(token_error=problem), IMAGE)
    assert (d.verdict.ready, d.verdict.stalled, d.verdict.reason) == (
        False,
        True,
        "TokenSecretNotFound",
    )
    assert fragment in d.verdict.message
    assert d.children == ()


def test_a_usable_token_secret_is_no_problem() -> None:
    assert token_problem("hf", "HF_TOKEN", True, True) is None
