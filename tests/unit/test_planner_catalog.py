"""The offline catalog of seed models and the text renderings of plans."""

from __future__ import annotations

import pytest

from slmfleet.planner import (
    GPUSpec,
    ServingRequest,
    catalog_facts,
    catalog_repos,
    plan_memory,
    render_fit_matrix,
    render_plan_table,
)
from slmfleet.planner.arithmetic import KV_DTYPE_BYTES, kv_layout

pytestmark = pytest.mark.unit

KIB = 1024
SEED_REPOS = {
    "Qwen/Qwen2.5-3B-Instruct",
    "meta-llama/Llama-3.2-3B-Instruct",
    "microsoft/Phi-4-mini-instruct",
    "HuggingFaceTB/SmolLM3-3B",
    "Qwen/Qwen3-0.6B",
    "Qwen/Qwen3-1.7B",
    "Qwen/Qwen3-4B",
    "google/gemma-3-4b-it",
    "mistralai/Ministral-3-3B-Instruct-2512",
    "mistralai/Mistral-7B-Instruct-v0.3",
}


# Quantized builds of seed models that the examples use, with their quantization_config.
QUANTIZED_REPOS = {"Qwen/Qwen2.5-3B-Instruct-AWQ"}


def test_catalog_holds_every_seed_model() -> None:
    assert set(catalog_repos()) == SEED_REPOS | QUANTIZED_REPOS
    assert catalog_facts("qwen/qwen3-4b") is not None  # case-insensitive
    assert catalog_facts("org/unknown") is None


@pytest.mark.parametrize(
    ("repo", "shape", "max_positions", "kv_kib_bf16"),
    [
        # From the reference table; KV/token = 2 x L x H_kv x d x 2 bytes.
        ("Qwen/Qwen2.5-3B-Instruct", (36, 16, 2, 128), 32768, 36),
        ("meta-llama/Llama-3.2-3B-Instruct", (28, 24, 8, 128), 131072, 112),
        ("microsoft/Phi-4-mini-instruct", (32, 24, 8, 128), 131072, 128),
        ("HuggingFaceTB/SmolLM3-3B", (36, 16, 4, 128), 65536, 72),
        ("Qwen/Qwen3-0.6B", (28, 16, 8, 128), 40960, 112),
        ("Qwen/Qwen3-4B", (36, 32, 8, 128), 40960, 144),
        ("google/gemma-3-4b-it", (34, 8, 4, 256), 131072, 2 * 34 * 4 * 256 * 2 // KIB),
        (
            "mistralai/Mistral-7B-Instruct-v0.3",
            (32, 32, 8, 128),
            32768,
            2 * 32 * 8 * 128 * 2 // KIB,
        ),
    ],
)
def test_catalog_matches_reference(
    repo: str, shape: tuple[int, int, int, int], max_positions: int, kv_kib_bf16: int
) -> None:
    """shape: layers, attention heads, KV heads, head_dim."""
    facts = catalog_facts(repo)
    assert facts is not None
    assert (facts.layers, facts.attention_heads, facts.kv_heads, facts.head_dim) == shape
    assert facts.max_position_embeddings == max_positions
    assert facts.torch_dtype == "bfloat16"
    layout = kv_layout(facts, KV_DTYPE_BYTES["bfloat16"], 1)
    assert layout.bytes_per_token == kv_kib_bf16 * KIB


def test_catalog_param_count_sources() -> None:
    qwen = catalog_facts("Qwen/Qwen2.5-3B-Instruct")
    gemma = catalog_facts("google/gemma-3-4b-it")
    assert qwen is not None and gemma is not None
    assert (qwen.param_count, qwen.param_count_source) == (3_085_938_688, "catalog")
    assert gemma.param_count_source == "config"
    assert (gemma.multimodal, gemma.sliding_window, gemma.global_layers) == (True, 1024, 5)


L4 = GPUSpec("l4", "NVIDIA-L4", 24, "8.9")
T4 = GPUSpec("t4", "Tesla-T4", 16, "7.5")


def test_render_plan_table() -> None:
    facts = catalog_facts("Qwen/Qwen2.5-3B-Instruct")
    assert facts is not None
    plan = plan_memory(facts, ServingRequest(max_model_len=32768), L4)
    text = render_plan_table(plan)
    lines = text.splitlines()
    assert lines[0].split() == ["item", "value"]
    assert "weights                   5.75 GiB" in text  # 3,085,938,688 x 2 B / 2^30
    assert "kv cache per token        36.0 KiB" in text
    assert "max model len             32768 tokens" in text
    assert any(line.startswith("FITS: Fits on l4") for line in lines)
    assert any(line.startswith("warning: Only 12 of the 16") for line in lines)


def test_render_fit_matrix() -> None:
    facts = catalog_facts("mistralai/Mistral-7B-Instruct-v0.3")
    assert facts is not None
    text = render_fit_matrix(facts, ServingRequest(max_model_len=8192), [T4, L4])
    lines = text.splitlines()
    assert lines[0].startswith("mistralai/Mistral-7B-Instruct-v0.3: 7,248,023,552 parameters")
    assert lines[1].split()[:4] == ["GPU", "MEMORY", "TP", "FITS"]
    t4_row, l4_row = lines[3], lines[4]
    assert t4_row.split()[:6] == ["t4", "16", "GiB", "1", "no", "float16"]
    assert "One 8192-token sequence needs" in t4_row
    assert l4_row.split()[:6] == ["l4", "24", "GiB", "1", "yes", "bfloat16"]
    header, rule = lines[1], lines[2]
    rule_starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
    assert header.index("FITS") in rule_starts  # columns line up under their rule
    assert t4_row.index(" no ") + 1 == header.index("FITS")


def test_quantized_build_keeps_its_base_architecture() -> None:
    awq = catalog_facts("Qwen/Qwen2.5-3B-Instruct-AWQ")
    base = catalog_facts("Qwen/Qwen2.5-3B-Instruct")
    assert awq is not None and base is not None
    assert awq.quant_method == "awq" and base.quant_method is None
    assert (awq.layers, awq.kv_heads, awq.param_count) == (base.layers, base.kv_heads, 3085938688)
