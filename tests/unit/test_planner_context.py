"""Max context that fits, the unset max_model_len and the status summary, by hand calculation."""

from __future__ import annotations

import pytest

from slmfleet.planner import GPUSpec, ModelFacts, ServingRequest, catalog_facts, plan_memory

pytestmark = pytest.mark.unit

GIB = 1 << 30
T4 = GPUSpec("t4", "Tesla-T4", 16, "7.5")
L4 = GPUSpec("l4", "NVIDIA-L4", 24, "8.9")
MIG = GPUSpec("mig-1g.10gb", "NVIDIA-A100-MIG-1g.10gb", 10, "8.0")
QWEN25 = "Qwen/Qwen2.5-3B-Instruct"
QWEN25_PARAMS = 3_085_938_688
MISTRAL7B = "mistralai/Mistral-7B-Instruct-v0.3"
GEMMA = "google/gemma-3-4b-it"
GEMMA_PARAMS = 4_294_960_128


def facts(repo: str) -> ModelFacts:
    found = catalog_facts(repo)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("repo", "gpu", "request_", "expected_context"),
    [
        # Mistral-7B fp16 on T4: budget 541,371,596 (after 209,715,200 of activations); raw
        # bytes allowed floor(budget / 1.15) = 470,757,909; / 131,072 bytes per token = 3591.
        (MISTRAL7B, T4, ServingRequest(max_model_len=8192), 470_757_909 // 131072),
        # Gemma on the 10 GiB slice at 0.95: budget = 10 GiB x 0.95 - weights - overhead -
        # activations (the sampler's: 2048 kept hidden states + 16 x vocab x 40 B);
        # past the 1024-token window only the 5 global layers grow:
        # tokens = (floor(budget / 1.15) - 4096 x 29 x 1024) // (4096 x 5).
        (
            GEMMA,
            MIG,
            ServingRequest(max_model_len=131072),
            (
                (
                    10 * GIB * 95 // 100
                    - GEMMA_PARAMS * 2
                    - GIB
                    - (2048 * 2560 * 2 + 16 * 262208 * 40)
                )
                * 100
                // 115
                - 4096 * 29 * 1024
            )
            // (4096 * 5),
        ),
        # Qwen2.5-3B on L4: the solved context exceeds 32768, so it is capped at the model's.
        (QWEN25, L4, ServingRequest(max_model_len=32768), 32768),
    ],
)
def test_max_context_that_fits(
    repo: str, gpu: GPUSpec, request_: ServingRequest, expected_context: int
) -> None:
    assert plan_memory(facts(repo), request_, gpu).max_context_that_fits == expected_context


def test_unset_max_model_len_is_reduced_to_a_multiple_of_1024() -> None:
    # Qwen3-1.7B on the 10 GiB slice: at 0.92 the budget is
    # 10 GiB x 0.92 - 1,720,574,976 x 2 - (1 GiB + 2048 x 2048 x 2 + 16 x 151936 x 40); tokens =
    # floor(budget / 1.15) // 114,688, rounded down to a multiple of 1024.
    budget = 10 * GIB * 92 // 100 - 1_720_574_976 * 2 - (GIB + 2048 * 2048 * 2 + 16 * 151936 * 40)
    tokens = budget * 100 // 115 // 114688
    plan = plan_memory(facts("Qwen/Qwen3-1.7B"), ServingRequest(), MIG)
    assert plan.fits
    assert tokens < 40960
    assert plan.max_model_len == tokens // 1024 * 1024
    assert any("reduced from the model's 40960 tokens" in warning for warning in plan.warnings)


def test_summary_is_camel_case_gib() -> None:
    plan = plan_memory(facts(QWEN25), ServingRequest(max_model_len=32768), L4)
    summary = plan.to_summary()
    assert summary["weightsGiB"] == round(QWEN25_PARAMS * 2 / GIB, 2) == 5.75
    assert summary["totalGiB"] == 24.0
    assert summary["kvBytesPerToken"] == 36864
    assert summary["maxModelLen"] == 32768
    assert summary["kvCacheDtype"] == "bfloat16"
    assert summary["gpuMemoryUtilization"] == 0.95
    assert summary["fits"] is True
