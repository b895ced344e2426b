"""Config parsing and parameter counting of the memory planner."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.planner import catalog_facts, facts_from_config
from slmfleet.planner.param_count import TensorHeader, count_tensor_params

pytestmark = pytest.mark.unit

QWEN25_3B_REAL_PARAMS = 3_085_938_688

QWEN25_3B_CONFIG: dict[str, Any] = {
    "model_type": "qwen2",
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "max_window_layers": 70,
    "sliding_window": 32768,
    "use_sliding_window": False,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 151936,
}

# gemma-3-4b-it keeps only a few keys in text_config; the rest are transformers defaults.
GEMMA3_CONFIG: dict[str, Any] = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "model_type": "gemma3",
    "torch_dtype": "bfloat16",
    "text_config": {
        "model_type": "gemma3_text",
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "num_hidden_layers": 34,
        "sliding_window": 1024,
    },
    "vision_config": {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 27,
        "patch_size": 14,
    },
}

MISTRAL7B_CONFIG: dict[str, Any] = {
    "model_type": "mistral",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 32768,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 32768,
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def test_qwen25_computed_param_count_within_two_percent() -> None:
    facts = facts_from_config("Qwen/Qwen2.5-3B-Instruct", QWEN25_3B_CONFIG, None)
    assert facts.param_count_source == "config"
    assert abs(facts.param_count - QWEN25_3B_REAL_PARAMS) / QWEN25_3B_REAL_PARAMS < 0.02
    # Hand count: embedding 151936*2048 (tied); per layer q 2048*2048+2048, k and v
    # 2048*256+256 each, o 2048*2048, gated MLP 3*2048*11008, two norms 2*2048; final norm.
    per_layer = (2048 * 2048 + 2048) + 2 * (2048 * 256 + 256) + 2048 * 2048
    per_layer += 3 * 2048 * 11008 + 2 * 2048
    assert facts.param_count == 151936 * 2048 + 36 * per_layer + 2048


@pytest.mark.parametrize(
    ("name", "config", "expected"),
    [
        (
            "gemma text_config with defaults",
            GEMMA3_CONFIG,
            # layers, heads, kv, head_dim, hidden, vocab, max_pos, tied, window, global, multimodal
            (34, 8, 4, 256, 2560, 262208, 131072, True, 1024, 34 // 6, True),
        ),
        (
            "qwen2.5 use_sliding_window false",
            QWEN25_3B_CONFIG,
            (36, 16, 2, 128, 2048, 151936, 32768, True, None, 36, False),
        ),
        (
            "mistral head_dim absent -> hidden / heads",
            MISTRAL7B_CONFIG,
            (32, 32, 8, 4096 // 32, 4096, 32768, 32768, False, None, 32, False),
        ),
        (
            "mistral v0.1 window on every layer",
            _with(MISTRAL7B_CONFIG, sliding_window=4096),
            (32, 32, 8, 128, 4096, 32768, 32768, False, 4096, 0, False),
        ),
        (
            "qwen2 window from max_window_layers on",
            _with(
                QWEN25_3B_CONFIG, use_sliding_window=True, sliding_window=4096, max_window_layers=28
            ),
            (36, 16, 2, 128, 2048, 151936, 32768, True, 4096, 28, False),
        ),
        (
            "layer_types list counts full attention layers",
            _with(
                QWEN25_3B_CONFIG,
                use_sliding_window=True,
                sliding_window=4096,
                layer_types=["sliding_attention", "full_attention"] * 18,
            ),
            (36, 16, 2, 128, 2048, 151936, 32768, True, 4096, 18, False),
        ),
        (
            "window as long as the context is no window",
            _with(MISTRAL7B_CONFIG, sliding_window=32768),
            (32, 32, 8, 128, 4096, 32768, 32768, False, None, 32, False),
        ),
    ],
)
def test_config_parser(name: str, config: dict[str, Any], expected: tuple[Any, ...]) -> None:
    facts = facts_from_config("org/model", config, None)
    got = (
        facts.layers,
        facts.attention_heads,
        facts.kv_heads,
        facts.head_dim,
        facts.hidden_size,
        facts.vocab_size,
        facts.max_position_embeddings,
        facts.tie_word_embeddings,
        facts.sliding_window,
        facts.global_layers,
        facts.multimodal,
    )
    assert got == expected, name


@pytest.mark.parametrize(
    ("extra", "expected_dtype"),
    [
        ({"torch_dtype": "bfloat16"}, "bfloat16"),
        ({"torch_dtype": "float16"}, "float16"),
        ({"dtype": "float16", "torch_dtype": "bfloat16"}, "float16"),  # newer key wins
        ({"torch_dtype": "torch.float32"}, "float32"),
        ({}, "float32"),  # silent config: what transformers assumes
    ],
)
def test_dtype_keys(extra: dict[str, Any], expected_dtype: str) -> None:
    config = {k: v for k, v in MISTRAL7B_CONFIG.items() if k != "torch_dtype"}
    assert facts_from_config("org/model", {**config, **extra}, None).torch_dtype == expected_dtype


@pytest.mark.parametrize(
    ("quantization_config", "method", "bits"),
    [
        ({"quant_method": "awq", "bits": 4, "group_size": 128}, "awq", 4),
        ({"quant_method": "gptq", "bits": 8}, "gptq", 8),
        ({"quant_method": "fp8", "activation_scheme": "dynamic"}, "fp8", 8),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes", 4),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int"}}},
            },
            "compressed-tensors",
            4,
        ),
        (None, None, None),
    ],
)
def test_quantization_config(
    quantization_config: dict[str, Any] | None, method: str | None, bits: int | None
) -> None:
    config = dict(MISTRAL7B_CONFIG)
    if quantization_config is not None:
        config["quantization_config"] = quantization_config
    facts = facts_from_config("org/model", config, None)
    assert (facts.quant_method, facts.quant_bits) == (method, bits)


def test_given_param_count_is_kept_with_its_source() -> None:
    facts = facts_from_config("org/model", MISTRAL7B_CONFIG, 7_000_000_000)
    assert (facts.param_count, facts.param_count_source) == (7_000_000_000, "safetensors")


@pytest.mark.parametrize(
    ("repo", "hand_count"),
    [
        (
            "meta-llama/Llama-3.2-3B-Instruct",
            128256 * 3072
            + 28 * (3072 * 3072 + 2 * 3072 * 1024 + 3072 * 3072 + 3 * 3072 * 8192 + 2 * 3072)
            + 3072,
        ),
        (
            "mistralai/Mistral-7B-Instruct-v0.3",
            2 * 32768 * 4096  # untied: embedding and LM head
            + 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096)
            + 4096,
        ),
        (
            "Qwen/Qwen3-0.6B",  # q/k norms of head_dim 128 each
            151936 * 1024
            + 28 * (2 * 1024 * 2048 + 2 * 1024 * 1024 + 3 * 1024 * 3072 + 2 * 1024 + 2 * 128)
            + 1024,
        ),
        (
            "google/gemma-3-4b-it",  # four norms per layer, q/k norms, SigLIP tower
            262208 * 2560
            + 34 * (2 * 2560 * 2048 + 2 * 2560 * 1024 + 3 * 2560 * 10240 + 4 * 2560 + 2 * 256)
            + 2560
            + 27 * (4 * 1152 * 1152 + 2 * 1152 * 4304)
            + 3 * 14 * 14 * 1152
            + 1152 * 2560,
        ),
    ],
)
def test_catalog_counts_match_hand_counts(repo: str, hand_count: int) -> None:
    facts = catalog_facts(repo)
    assert facts is not None
    assert facts.param_count == hand_count


@pytest.mark.parametrize(
    ("tensors", "bits", "tied", "expected"),
    [
        # AWQ: qweight int32 [4096, 512] packs 8 four-bit values; scales and qzeros are not params.
        (
            [
                TensorHeader("model.layers.0.mlp.up_proj.qweight", "I32", (4096, 512)),
                TensorHeader("model.layers.0.mlp.up_proj.scales", "F16", (32, 4096)),
                TensorHeader("model.layers.0.mlp.up_proj.qzeros", "I32", (32, 512)),
                TensorHeader("model.embed_tokens.weight", "F16", (1000, 4096)),
            ],
            4,
            True,
            4096 * 512 * 8 + 1000 * 4096,
        ),
        # A tied model that still stores lm_head.weight: the engine does not load it.
        (
            [
                TensorHeader("model.embed_tokens.weight", "BF16", (1000, 64)),
                TensorHeader("lm_head.weight", "BF16", (1000, 64)),
                TensorHeader("model.norm.weight", "BF16", (64,)),
            ],
            None,
            True,
            1000 * 64 + 64,
        ),
        (
            [
                TensorHeader("model.embed_tokens.weight", "BF16", (1000, 64)),
                TensorHeader("lm_head.weight", "BF16", (1000, 64)),
            ],
            None,
            False,
            2 * 1000 * 64,
        ),
        # bitsandbytes 4-bit: two values per uint8.
        (
            [
                TensorHeader("model.layers.0.mlp.up_proj.weight", "U8", (131072, 1)),
                TensorHeader("model.layers.0.mlp.up_proj.weight.absmax", "F32", (4096,)),
            ],
            4,
            True,
            131072 * 2,
        ),
    ],
)
def test_count_tensor_params(
    tensors: list[TensorHeader], bits: int | None, tied: bool, expected: int
) -> None:
    assert count_tensor_params(tensors, quant_bits=bits, tie_word_embeddings=tied) == expected


def test_missing_dimension_is_a_clear_error() -> None:
    config = {k: v for k, v in MISTRAL7B_CONFIG.items() if k != "num_hidden_layers"}
    with pytest.raises(ValueError, match="num_hidden_layers"):
        facts_from_config("org/model", config, None)
