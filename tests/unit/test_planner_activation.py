"""The activation peak of vLLM's profiling run against published measurements.

llm-d-benchmark measured vLLM's "PyTorch activation peak memory" on one H100 80 GB with vLLM's
defaults there (max_num_batched_tokens 8192, max_num_seqs 1024): 5.56 GiB for Qwen3-0.6B (its
weights 1.12 GiB) and 4.76 GiB for Llama-3.1-8B. The planner's estimate must land within 10%.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from slmfleet.planner import (
    GPUSpec,
    ModelFacts,
    ServingRequest,
    catalog_facts,
    facts_from_config,
    plan_memory,
    render_plan_table,
)

pytestmark = pytest.mark.unit

GIB = 1 << 30
TOLERANCE = 0.10
H100 = GPUSpec("h100", "NVIDIA-H100-80GB-HBM3", 80, "9.0")
L4 = GPUSpec("l4", "NVIDIA-L4", 24, "8.9")
VLLM_H100_MAX_NUM_SEQS = 1024

LLAMA_31_8B_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def _qwen3() -> ModelFacts:
    facts = catalog_facts("Qwen/Qwen3-0.6B")
    assert facts is not None
    return facts


def _llama() -> ModelFacts:
    return facts_from_config("meta-llama/Llama-3.1-8B-Instruct", LLAMA_31_8B_CONFIG, 8_030_261_248)


@pytest.mark.parametrize(
    ("name", "facts", "measured_gib"),
    [("Qwen3-0.6B", _qwen3, 5.56), ("Llama-3.1-8B", _llama, 4.76)],
)
def test_activation_peak_matches_llm_d_benchmark_on_h100(
    name: str, facts: Callable[[], ModelFacts], measured_gib: float
) -> None:
    request = ServingRequest(max_model_len=8192, max_num_seqs=VLLM_H100_MAX_NUM_SEQS)
    plan = plan_memory(facts(), request, H100)
    assert plan.max_num_batched_tokens == 8192
    estimate = plan.activation_bytes / GIB
    assert abs(estimate - measured_gib) <= TOLERANCE * measured_gib, (name, estimate)


def test_activation_grows_with_batched_tokens_and_sequences() -> None:
    small = plan_memory(_llama(), ServingRequest(max_model_len=4096), L4)
    many = plan_memory(_llama(), ServingRequest(max_model_len=4096, max_num_seqs=256), L4)
    batched = plan_memory(
        _llama(), ServingRequest(max_model_len=4096, max_num_batched_tokens=16384), L4
    )
    assert small.activation_bytes < many.activation_bytes
    assert small.activation_bytes < batched.activation_bytes
    # The forward pass dominates with few sequences: 2048 x (2 x 4096 + 3 x 14336) x 2 bytes.
    assert small.activation_bytes == 2048 * (2 * 4096 + 3 * 14336) * 2


def test_the_plan_shows_the_activation_peak_on_its_own_line() -> None:
    plan = plan_memory(_qwen3(), ServingRequest(max_model_len=8192, max_num_seqs=1024), H100)
    lines = render_plan_table(plan).splitlines()
    line = next(line for line in lines if line.startswith("activation peak"))
    assert f"{plan.activation_bytes / GIB:.2f} GiB" in line
    assert "8192 batched tokens" in line
    assert plan.to_summary()["activationGiB"] == round(plan.activation_bytes / GIB, 2)
