"""Compatibility checks, utilization suggestion and GPU-class choice of the memory planner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from planner_gpus import (
    A10G,
    L4,
    MIG,
    MISTRAL7B,
    QWEN25,
    T4,
    V100,
    facts,
)

from slmfleet.planner import (
    GPUSpec,
    ModelFacts,
    ServingRequest,
    plan_memory,
)

pytestmark = pytest.mark.unit

GEMMA = facts("google/gemma-3-4b-it")
MINISTRAL = facts("mistralai/Ministral-3-3B-Instruct-2512")
SHORT = 4096


@dataclass(frozen=True)
class Check:
    """A request on a GPU class and what the planner must conclude."""

    model: ModelFacts
    gpu: GPUSpec
    request: ServingRequest
    expect: tuple[bool, str, str]  # fits, dtype, KV cache dtype
    reason: str
    warning: str | None = None


def short(**kwargs: Any) -> ServingRequest:
    return ServingRequest(max_model_len=SHORT, **kwargs)


CHECKS = [
    # dtype vs GPU
    Check(
        QWEN25,
        T4,
        short(),
        (True, "float16", "float16"),
        "Fits",
        warning="has no bfloat16: dtype auto falls back to float16",
    ),
    Check(
        QWEN25,
        T4,
        short(dtype="bfloat16"),
        (False, "bfloat16", "bfloat16"),
        "dtype bfloat16 needs compute capability >= 8.0",
    ),
    Check(
        QWEN25,
        L4,
        short(dtype="float16"),
        (True, "float16", "float16"),
        "Fits",
        warning="can overflow",
    ),
    Check(
        GEMMA,
        T4,
        short(),
        (False, "float32", "float32"),
        "Weights (16.0 GiB)",
        warning="falls back to float32",
    ),
    # fp8 weights and fp8 KV cache
    Check(
        QWEN25,
        T4,
        short(quantization="fp8"),
        (False, "float16", "float16"),
        "fp8 weights need compute capability >= 8.0",
    ),
    Check(
        QWEN25,
        A10G,
        short(quantization="fp8"),
        (True, "bfloat16", "bfloat16"),
        "Fits",
        warning="weight-only fp8 (Marlin)",
    ),
    Check(
        QWEN25,
        T4,
        short(kv_cache_dtype="fp8"),
        (False, "float16", "fp8"),
        "fp8 KV cache needs compute capability >= 8.0",
    ),
    Check(
        QWEN25,
        MIG,
        short(kv_cache_dtype="fp8_e5m2"),
        (True, "bfloat16", "fp8_e5m2"),
        "Fits",
        warning="up-cast inside attention",
    ),
    Check(
        MINISTRAL,
        T4,
        short(),
        (False, "float16", "float16"),
        "fp8 weights need compute capability >= 8.0",
    ),
    Check(
        MINISTRAL,
        L4,
        short(quantization="awq"),
        (False, "bfloat16", "bfloat16"),
        "fp8-quantized checkpoint but quantization awq",
    ),
    # int4 and plugin formats
    Check(
        QWEN25,
        V100,
        short(quantization="awq", dtype="float16"),
        (False, "float16", "float16"),
        "awq kernels need compute capability >= 7.5",
    ),
    Check(
        QWEN25,
        T4,
        short(quantization="gptq"),
        (True, "float16", "float16"),
        "Fits",
        warning="vLLM cannot quantize to gptq on the fly",
    ),
    Check(
        QWEN25,
        L4,
        short(quantization="bitsandbytes"),
        (False, "bfloat16", "bfloat16"),
        "only through its out-of-tree bitsandbytes plugin",
    ),
    Check(
        QWEN25,
        L4,
        short(quantization="bitsandbytes", quantization_plugins=("bitsandbytes",)),
        (True, "bfloat16", "bfloat16"),
        "Fits",
    ),
    Check(
        QWEN25,
        L4,
        short(quantization="gguf", quantization_plugins=("bitsandbytes",)),
        (False, "bfloat16", "bfloat16"),
        "only through its out-of-tree gguf plugin",
    ),
    # tensor parallelism: 16 heads / 2 KV heads
    Check(
        QWEN25,
        L4,
        short(tensor_parallel_size=3),
        (False, "bfloat16", "bfloat16"),
        "use one of 1, 2, 4, 8, 16",
    ),
    Check(
        QWEN25,
        L4,
        short(tensor_parallel_size=4),
        (True, "bfloat16", "bfloat16"),
        "Fits",
        warning="replicates KV heads",
    ),
    # context length
    Check(
        QWEN25,
        L4,
        ServingRequest(max_model_len=65536),
        (False, "bfloat16", "bfloat16"),
        "exceeds the 32768 tokens (max_position_embeddings)",
    ),
    Check(
        MISTRAL7B,
        T4,
        ServingRequest(max_model_len=32768),
        (False, "float16", "float16"),
        "the max context that fits is 3591 tokens",
    ),
]


@pytest.mark.parametrize("case", CHECKS, ids=lambda case: f"{case.gpu.name}-{case.reason[:30]}")
def test_checks(case: Check) -> None:
    plan = plan_memory(case.model, case.request, case.gpu)
    assert (plan.fits, plan.dtype, plan.kv_cache_dtype) == case.expect
    assert case.reason in plan.reason
    if case.warning is not None:
        assert any(case.warning in warning for warning in plan.warnings), plan.warnings


def test_kv_fp8_halves_kv_bytes() -> None:
    auto = plan_memory(QWEN25, ServingRequest(max_model_len=SHORT), L4)
    fp8 = plan_memory(QWEN25, ServingRequest(kv_cache_dtype="fp8", max_model_len=SHORT), L4)
    assert (auto.kv_bytes_per_token, fp8.kv_bytes_per_token) == (
        2 * 36 * 2 * 128 * 2,
        2 * 36 * 2 * 128,
    )
