"""ModelFacts: what the memory planner needs to know about a model, parsed from its config.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slmfleet.planner.param_count import (
    TextShape,
    default_qkv_bias,
    text_params,
    vision_params,
)

TorchDType = Literal["bfloat16", "float16", "float32"]
ParamCountSource = Literal["safetensors", "config", "catalog"]

# Keys some families leave out of config.json, filled from the transformers config defaults.
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {
        "vocab_size": 262_208,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "max_position_embeddings": 131_072,
        "tie_word_embeddings": True,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
    },
    "gemma2": {"tie_word_embeddings": True, "sliding_window_pattern": 2},
}
_DTYPE_ALIASES = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}
_FULL_ATTENTION = "full_attention"
_FP8_BITS = 8


@dataclass(frozen=True)
class ModelFacts:
    """Architecture facts of one model revision (text facts come from text_config if present)."""

    repo: str
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    torch_dtype: TorchDType
    max_position_embeddings: int
    param_count: int
    param_count_source: ParamCountSource
    quant_method: str | None
    sliding_window: int | None
    global_layers: int
    multimodal: bool
    model_type: str = ""
    quant_bits: int | None = None

    @property
    def local_layers(self) -> int:
        """Layers that keep at most `sliding_window` tokens of KV cache."""
        return self.layers - self.global_layers if self.sliding_window else 0

    def text_shape(self) -> TextShape:
        return TextShape(
            model_type=self.model_type,
            layers=self.layers,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            attention_heads=self.attention_heads,
            kv_heads=self.kv_heads,
            head_dim=self.head_dim,
            vocab_size=self.vocab_size,
            tie_word_embeddings=self.tie_word_embeddings,
            qkv_bias=default_qkv_bias(self.model_type),
        )


def _text_view(config: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Merge the text config over the family defaults and the top level; return it and its type."""
    text = config.get("text_config")
    text = text if isinstance(text, Mapping) else {}
    model_type = str(text.get("model_type") or config.get("model_type") or "")
    merged: dict[str, Any] = dict(_FAMILY_DEFAULTS.get(model_type, {}))
    merged.update({k: v for k, v in config.items() if k not in ("text_config", "vision_config")})
    merged.update(text)
    merged["model_type"] = model_type
    return merged, model_type


def _required_int(view: Mapping[str, Any], key: str, repo: str) -> int:
    value = view.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"config.json of {repo} has no positive integer {key!r}")
    return value


def _torch_dtype(view: Mapping[str, Any]) -> TorchDType:
    raw = view.get("dtype") or view.get("torch_dtype")
    if raw is None:
        return "float32"  # what transformers and vLLM assume when the config is silent
    name = _DTYPE_ALIASES.get(str(raw).removeprefix("torch."), "float32")
    if name == "bfloat16":
        return "bfloat16"
    return "float16" if name == "float16" else "float32"


def _quantization(
    config: Mapping[str, Any], view: Mapping[str, Any]
) -> tuple[str | None, int | None]:
    quant = config.get("quantization_config") or view.get("quantization_config")
    if not isinstance(quant, Mapping) or not quant.get("quant_method"):
        return None, None
    method = str(quant["quant_method"]).lower().replace("_", "-")
    if method.startswith("awq"):
        method = "awq"
    if method == "fp8":
        return method, _FP8_BITS
    for key in ("bits", "w_bit", "weight_bits"):
        if isinstance(quant.get(key), int):
            return method, int(quant[key])
    if quant.get("load_in_4bit"):
        return method, 4
    if quant.get("load_in_8bit"):
        return method, 8
    groups = quant.get("config_groups")
    if isinstance(groups, Mapping):
        for group in groups.values():
            weights = group.get("weights") if isinstance(group, Mapping) else None
            if isinstance(weights, Mapping) and isinstance(weights.get("num_bits"), int):
                return method, int(weights["num_bits"])
    return method, None


def _attention_layout(view: Mapping[str, Any], layers: int) -> tuple[int | None, int]:
    """(sliding_window, global_layers): the window only when some layer really uses it."""
    window = view.get("sliding_window")
    max_positions = view.get("max_position_embeddings")
    if view.get("use_sliding_window") is False or not isinstance(window, int) or window <= 0:
        return None, layers
    if isinstance(max_positions, int) and window >= max_positions:
        return None, layers
    layer_types = view.get("layer_types")
    if isinstance(layer_types, list) and layer_types:
        global_layers = sum(1 for kind in layer_types if kind == _FULL_ATTENTION)
    elif isinstance(view.get("sliding_window_pattern"), int) and view["sliding_window_pattern"] > 0:
        global_layers = layers // int(view["sliding_window_pattern"])
    elif isinstance(view.get("max_window_layers"), int):
        # Qwen2-style: layers from max_window_layers on use the window.
        global_layers = min(layers, int(view["max_window_layers"]))
    else:
        global_layers = 0  # Mistral-v0.1 style: every layer slides
    if global_layers >= layers:
        return None, layers
    return window, global_layers


def facts_from_config(
    repo: str,
    config: Mapping[str, Any],
    param_count: int | None,
    *,
    param_count_source: ParamCountSource = "safetensors",
) -> ModelFacts:
    """Parse a Hugging Face config.json; compute the parameter count from it when none is given.

    Raises ValueError when the config lacks a dimension the planner needs.
    """
    view, model_type = _text_view(config)
    layers = _required_int(view, "num_hidden_layers", repo)
    heads = _required_int(view, "num_attention_heads", repo)
    hidden = _required_int(view, "hidden_size", repo)
    kv_heads = view.get("num_key_value_heads") or heads
    head_dim = view.get("head_dim") or hidden // heads
    window, global_layers = _attention_layout(view, layers)
    quant_method, quant_bits = _quantization(config, view)
    vision = config.get("vision_config")
    multimodal = isinstance(vision, Mapping) or isinstance(config.get("audio_config"), Mapping)
    shape = TextShape(
        model_type=model_type,
        layers=layers,
        hidden_size=hidden,
        intermediate_size=_required_int(view, "intermediate_size", repo),
        attention_heads=heads,
        kv_heads=int(kv_heads),
        head_dim=int(head_dim),
        vocab_size=_required_int(view, "vocab_size", repo),
        tie_word_embeddings=bool(view.get("tie_word_embeddings", False)),
        qkv_bias=bool(view.get("attention_bias", default_qkv_bias(model_type))),
        o_bias=bool(view.get("attention_bias", False)),
    )
    if param_count is None:
        param_count = text_params(shape)
        if isinstance(vision, Mapping):
            param_count += vision_params(vision, hidden)
        param_count_source = "config"
    return ModelFacts(
        repo=repo,
        layers=layers,
        attention_heads=heads,
        kv_heads=shape.kv_heads,
        head_dim=shape.head_dim,
        hidden_size=hidden,
        intermediate_size=shape.intermediate_size,
        vocab_size=shape.vocab_size,
        tie_word_embeddings=shape.tie_word_embeddings,
        torch_dtype=_torch_dtype(view),
        max_position_embeddings=_required_int(view, "max_position_embeddings", repo),
        param_count=param_count,
        param_count_source=param_count_source,
        quant_method=quant_method,
        sliding_window=window,
        global_layers=global_layers,
        multimodal=multimodal,
        model_type=str(config.get("model_type") or model_type),
        quant_bits=quant_bits,
    )
