"""SmallModel: defaults, strictness, owned flags, transitions and status parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import ValidationError

from slmfleet.api import (
    SmallModel,
    SmallModelSpec,
    SpecError,
    check_smallmodel_update,
    owned_flag,
    parse_smallmodel,
)
from slmfleet.api.crdgen import object_schema
from slmfleet.api.smallmodel import SMALLMODEL_KIND

pytestmark = pytest.mark.unit

SHA = "0123456789abcdef0123456789abcdef01234567"


def body(name: str = "qwen", **spec: Any) -> dict[str, Any]:
    base = {
        "source": {"huggingFace": {"repo": "Qwen/Qwen2.5-3B-Instruct", "revision": SHA}},
        "gpuClassName": "l4",
    }
    return {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "SmallModel",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {**base, **spec},
    }


def test_defaults_of_a_minimal_spec() -> None:
    spec = parse_smallmodel(body()).spec
    got = (
        spec.quantization,
        spec.dtype,
        spec.kv_cache_dtype,
        spec.max_num_seqs,
        spec.min_replicas,
        spec.max_replicas,
        spec.replicas,
        spec.rollout.strategy,
        spec.paused,
        spec.engine.extra_args,
        spec.lora_adapters,
    )
    assert got == ("none", "auto", "auto", 16, 1, 1, None, "canary", False, [], [])


def test_body_round_trips_in_camel_case() -> None:
    model = parse_smallmodel(body(maxModelLen=8192, kvCacheDtype="fp8"))
    out = model.spec.to_body()
    assert (out["maxModelLen"], out["kvCacheDtype"], out["gpuClassName"]) == (8192, "fp8", "l4")
    assert "tensorParallelSize" not in out  # unset optional fields are left out
    assert SmallModelSpec.model_validate(out) == model.spec


def test_parses_read_only_mappings_like_kopf_bodies() -> None:
    frozen = MappingProxyType({**body(), "status": None})
    assert parse_smallmodel(frozen).metadata.namespace == "ml"


@pytest.mark.parametrize(
    ("name", "served", "expected"),
    [("qwen", None, "qwen"), ("qwen", "qwen-chat", "qwen-chat")],
)
def test_served_model_name_falls_back_to_metadata_name(
    name: str, served: str | None, expected: str
) -> None:
    extra = {"servedModelName": served} if served else {}
    assert parse_smallmodel(body(name, **extra)).served_model_name == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maxNumSeqs", "16"),
        ("maxNumSeqs", 16.0),
        ("maxModelLen", 8192.5),
        ("paused", "false"),
        ("gpuMemoryUtilization", "0.9"),
    ],
)
def test_types_are_strict_like_the_api_server(field: str, value: Any) -> None:
    with pytest.raises(SpecError, match=re.escape(f"spec.{field} in body must be of type")):
        parse_smallmodel(body(**{field: value}))


def test_unknown_spec_fields_are_refused_but_unknown_status_fields_ignored() -> None:
    with pytest.raises(SpecError, match=re.escape('unknown field "spec.engine.gpus"')):
        parse_smallmodel(body(engine={"gpus": 1}))
    model = parse_smallmodel({**body(), "status": {"phase": "Ready", "kopf": {"x": 1}}})
    assert model.status.phase == "Ready"


@pytest.mark.parametrize(
    ("arg", "flag"),
    [
        ("--max-model-len=4096", "--max-model-len"),
        ("--max_model_len=4096", "--max-model-len"),
        ("--max-model-len", "--max-model-len"),
        ("--model", "--model"),
        ("--revision", "--revision"),
        ("--served-model-name=x", "--served-model-name"),
        ("--kv_cache_dtype", "--kv-cache-dtype"),
        ("--port=9000", "--port"),
        ("--lora-modules", "--lora-modules"),
        ("--max-num-seqs=8", "--max-num-seqs"),
        ("--shutdown-timeout=5", "--shutdown-timeout"),
        ("-tp", "-tp"),
        ("-tp=2", "-tp"),
        ("-q", "-q"),
        ("-qawq", "-q"),
        ("--model-impl=vllm", None),
        ("--code-revision=abc", None),
        ("--tokenizer-revision", None),
        ("--portal", None),
        ("--dtype-override", None),
        ("--enable-prefix-caching", None),
        ("--max-num-batched-tokens=8192", None),
        ("--enable-lora", "--enable-lora"),
        ("--no-enable-lora", "--no-enable-lora"),
        ("--disable-lora", "--disable-lora"),
        ("--max-loras=4", "--max-loras"),
        ("--device-memory-utilization=0.99", "--device-memory-utilization"),
        ("--gpu-memory-util=0.99", "--gpu-memory-utilization"),
        ("--gpu_memory_util", "--gpu-memory-utilization"),
        ("--max-model=4096", "--max-model-len"),
        ("--tensor-parallel", "--tensor-parallel-size"),
        ("--enable-lora-bias", None),
        ("--max-cpu-loras=4", None),
        ("--kv-cache-memory-bytes=1G", None),
        ("--gpu-memory-utilization-x", None),
        ("--mode=echo", None),  # ambiguous in vLLM (--model, --model-impl): the simulator's knob
        ("--quant=awq", None),  # ambiguous in vLLM (--quantization-config)
        ("--max-num-s", None),  # ambiguous in vLLM (--max-num-scheduled-tokens)
        ("--max-num-se=8", "--max-num-seqs"),
        ("4096", None),
        ("-O3", None),
    ],
)
def test_owned_flags_and_the_crd_rule_agree(arg: str, flag: str | None) -> None:
    assert owned_flag(arg) == flag
    engine = object_schema(SMALLMODEL_KIND)["properties"]["spec"]["properties"]["engine"]
    rule = engine["properties"]["extraArgs"]["x-kubernetes-validations"][0]["rule"]
    regex = re.search(r"matches\('(.*)'\)\)$", rule)
    assert regex is not None
    assert (re.search(regex.group(1), arg) is not None) == (flag is not None)
    spec = body(engine={"extraArgs": ["--enforce-eager", arg]})["spec"]
    if flag is None:
        SmallModelSpec.model_validate(spec)
    else:
        with pytest.raises(ValidationError, match="flags the operator owns"):
            SmallModelSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("replicas", "low", "high", "ok"),
    [
        (None, 1, 1, True),
        (None, 0, 3, True),
        (0, 0, 3, True),
        (3, 0, 3, True),
        (4, 0, 3, False),
        (0, 1, 3, False),
        (None, 2, 1, False),
    ],
)
def test_replicas_bounds(replicas: int | None, low: int, high: int, ok: bool) -> None:
    spec: dict[str, Any] = {"minReplicas": low, "maxReplicas": high}
    if replicas is not None:
        spec["replicas"] = replicas
    if ok:
        assert parse_smallmodel(body(**spec)).spec.max_replicas == high
    else:
        with pytest.raises(SpecError):
            parse_smallmodel(body(**spec))


@pytest.mark.parametrize(
    ("before", "after", "ok"),
    [
        (None, None, True),
        (None, "qwen-chat", True),
        ("qwen-chat", "qwen-chat", True),
        ("qwen-chat", "qwen-chat-v2", False),
        ("qwen-chat", None, False),
    ],
)
def test_served_model_name_is_immutable_once_set(
    before: str | None, after: str | None, ok: bool
) -> None:
    def model(served: str | None) -> SmallModel:
        return parse_smallmodel(body(**({"servedModelName": served} if served else {})))

    if ok:
        check_smallmodel_update(model(before), model(after))
    else:
        with pytest.raises(SpecError, match="servedModelName is immutable once set"):
            check_smallmodel_update(model(before), model(after))


def test_status_is_lenient_and_dumps_rfc3339_times() -> None:
    status = {
        "phase": "Ready",
        "replicas": 2,
        "readyReplicas": 2,
        "plan": {"fits": True, "weightsGiB": 5.75, "kvRequestedGiB": 9.0, "warnings": ["tight"]},
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T12:00:00Z"}
        ],
    }
    model = parse_smallmodel({**body(), "status": status})
    assert model.status.conditions[0].last_transition_time == datetime(2026, 1, 1, 12, tzinfo=UTC)
    plan = model.status.plan
    assert plan is not None and plan.weights_gib is not None and plan.kv_requested_gib is not None
    assert plan.weights_gib + plan.kv_requested_gib == 14.75
    out = model.status.to_body()
    assert out["conditions"][0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert out["plan"]["weightsGiB"] == 5.75
