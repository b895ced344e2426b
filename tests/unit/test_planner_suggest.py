"""Utilization suggestion, concurrency, GPU-class choice and input validation of the planner."""

from __future__ import annotations

import dataclasses
import math

import pytest
from planner_gpus import (
    A10G,
    GIB,
    H100,
    L4,
    L40S,
    MIG,
    MISTRAL7B,
    QWEN3_06B,
    QWEN25,
    T4,
)

from slmfleet.planner import (
    GPUSpec,
    ModelFacts,
    ServingRequest,
    plan_memory,
    smallest_fitting,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("max_num_seqs", "given", "expected", "warning_part"),
    [
        # Qwen3-0.6B on H100 at 4096 tokens: weights 1,192,099,840 + overhead
        # max(1 GiB, 2% of 80 GiB = 1,717,986,919) + seqs x 151936 x 40 + seqs x KV per sequence
        # (114688 x 4096 x 1.15 = 540,231,271). Few sequences: the default 0.92 holds them.
        (16, None, 0.92, None),
        # 138 sequences need (1,192,099,840 + 1,717,986,919 + 138 x (6,077,440 + 540,231,271))
        # / 85,899,345,920 = 0.9115; + 2% margin = 0.9315 -> 0.94.
        (138, None, 0.94, "suggested 0.94"),
        # 400 sequences would need far more than 0.95: capped.
        (400, None, 0.95, "the most the planner proposes"),
        # A user's value is kept; the warning names the value the load needs.
        (138, 0.8, 0.8, "needs gpu_memory_utilization 0.94"),
    ],
)
def test_utilization_suggestion(
    max_num_seqs: int, given: float | None, expected: float, warning_part: str | None
) -> None:
    needed = (
        596_049_920 * 2
        + math.ceil(80 * GIB * 2 / 100)
        + max_num_seqs * 151936 * 40
        + max_num_seqs * -(-114688 * 4096 * 115 // 100)
    ) / (80 * GIB)
    if given is None and warning_part is not None and expected < 0.95:
        assert math.ceil((needed + 0.02) * 100) / 100 == expected
    request = ServingRequest(
        max_model_len=4096, max_num_seqs=max_num_seqs, gpu_memory_utilization=given
    )
    plan = plan_memory(QWEN3_06B, request, H100)
    assert plan.gpu_memory_utilization == expected
    if warning_part is None:
        assert not any("gpu_memory_utilization" in warning for warning in plan.warnings)
    else:
        assert any(warning_part in warning for warning in plan.warnings), plan.warnings


def test_concurrency_shortfall_is_only_a_warning() -> None:
    plan = plan_memory(QWEN25, ServingRequest(max_model_len=32768), L4)
    assert plan.fits
    assert plan.max_concurrent_sequences < 16
    assert any("of the 16 requested sequences fit" in warning for warning in plan.warnings)


@pytest.mark.parametrize(
    ("model", "request_", "gpus", "expected"),
    [
        # Qwen2.5-3B at 8k fits all: the 10 GiB slice has the least memory.
        (QWEN25, ServingRequest(max_model_len=8192), [H100, L4, MIG, T4], "mig-1g.10gb"),
        # Mistral-7B bf16 (14.5 GB) fits neither T4 nor the slice; L4 and A10G tie on 24 GiB and
        # L4 is cheaper.
        (MISTRAL7B, ServingRequest(max_model_len=8192), [T4, MIG, A10G, L4, H100], "l4"),
        (MISTRAL7B, ServingRequest(max_model_len=8192), [T4, MIG], None),
    ],
)
def test_smallest_fitting(
    model: ModelFacts, request_: ServingRequest, gpus: list[GPUSpec], expected: str | None
) -> None:
    chosen = smallest_fitting(model, request_, gpus)
    assert (chosen.name if chosen else None) == expected


def test_smallest_fitting_counts_memory_per_replica() -> None:
    pair = dataclasses.replace(T4, name="t4x2", gpus_per_replica=2)  # 32 GiB per replica
    chosen = smallest_fitting(MISTRAL7B, ServingRequest(max_model_len=8192), [pair, L40S])
    assert chosen is not None and chosen.name == "t4x2"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantization": "int3"}, "quantization must be one of"),
        ({"dtype": "half"}, "dtype must be one of"),
        ({"max_model_len": 0}, "max_model_len"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization"),
        ({"tensor_parallel_size": 0}, "tensor_parallel_size"),
    ],
)
def test_request_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServingRequest(**kwargs)  # type: ignore[arg-type]


def test_gpu_capability_format() -> None:
    with pytest.raises(ValueError, match="compute capability"):
        GPUSpec("bad", "x", 16, "sm75")
    assert GPUSpec("l4", "NVIDIA-L4", 24, "8.9").capability == (8, 9)
