"""Parameter counts: estimated from a config.json, or counted from safetensors tensor headers.

The config estimate covers decoder-only transformers with gated MLPs (every seed model), plus a
rough vision-tower estimate for multimodal checkpoints. The tensor count undoes the packing of
4-bit/8-bit checkpoints (AWQ, GPTQ, compressed-tensors, bitsandbytes) so that a quantized
checkpoint reports the parameter count of the model, not the number of packed integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

# Families whose q/k/v projections carry a bias although their config has no attention_bias key.
_QKV_BIAS_FAMILIES = ("qwen2",)
# Families with a per-head RMSNorm on q and k (two vectors of head_dim per layer).
_QK_NORM_FAMILIES = ("qwen3", "gemma3", "olmo2")
# Families with four RMSNorms per decoder layer instead of two.
_FOUR_NORM_FAMILIES = ("gemma2", "gemma3")
# Vision activations that imply a gated (three-matrix) MLP in the vision tower.
_GATED_VISION_ACTIVATIONS = ("silu", "swiglu")
_IMAGE_CHANNELS = 3


@dataclass(frozen=True)
class TextShape:
    """The decoder dimensions a parameter estimate needs."""

    model_type: str
    layers: int
    hidden_size: int
    intermediate_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    qkv_bias: bool = False
    o_bias: bool = False


def _family(model_type: str, families: Iterable[str]) -> bool:
    return any(model_type.startswith(name) for name in families)


def default_qkv_bias(model_type: str) -> bool:
    """Whether a family has q/k/v biases when its config does not say."""
    return _family(model_type, _QKV_BIAS_FAMILIES)


def embedding_params(shape: TextShape) -> int:
    """Input embedding plus the LM head when it is not tied to the embedding."""
    per_matrix = shape.vocab_size * shape.hidden_size
    return per_matrix if shape.tie_word_embeddings else 2 * per_matrix


def text_params(shape: TextShape) -> int:
    """Parameters of the language model: embeddings, attention, gated MLP, norms, LM head."""
    q_width = shape.attention_heads * shape.head_dim
    kv_width = shape.kv_heads * shape.head_dim
    attention = shape.hidden_size * (q_width + 2 * kv_width) + q_width * shape.hidden_size
    if shape.qkv_bias:
        attention += q_width + 2 * kv_width
    if shape.o_bias:
        attention += shape.hidden_size
    mlp = 3 * shape.hidden_size * shape.intermediate_size
    norms_per_layer = 4 if _family(shape.model_type, _FOUR_NORM_FAMILIES) else 2
    norms = norms_per_layer * shape.hidden_size
    if _family(shape.model_type, _QK_NORM_FAMILIES):
        norms += 2 * shape.head_dim
    per_layer = attention + mlp + norms
    final_norm = shape.hidden_size
    return embedding_params(shape) + shape.layers * per_layer + final_norm


def vision_params(vision_config: Mapping[str, Any], text_hidden_size: int) -> int:
    """Rough size of a ViT vision tower plus a one-matrix projector; 0 when dimensions are absent.

    Per layer: q/k/v/o (4 h^2) and an MLP of two matrices (three when the activation is gated),
    plus the patch embedding (3 x patch^2 x h) and a projector (h x text hidden size).
    """
    hidden = vision_config.get("hidden_size")
    intermediate = vision_config.get("intermediate_size")
    layers = vision_config.get("num_hidden_layers")
    if not (isinstance(hidden, int) and isinstance(intermediate, int) and isinstance(layers, int)):
        return 0
    activation = str(vision_config.get("hidden_act", "gelu"))
    mlp_matrices = 3 if activation in _GATED_VISION_ACTIVATIONS else 2
    per_layer = 4 * hidden * hidden + mlp_matrices * hidden * intermediate
    patch = int(vision_config.get("patch_size", 14))
    patch_embedding = _IMAGE_CHANNELS * patch * patch * hidden
    projector = hidden * text_hidden_size
    return layers * per_layer + patch_embedding + projector


@dataclass(frozen=True)
class TensorHeader:
    """One tensor of a safetensors header: its dtype and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]


# Side tensors of quantized checkpoints: scales, zero points, group indices, packing metadata.
_QUANT_SIDE_SUFFIXES = (
    ".qzeros",
    ".scales",
    ".g_idx",
    ".weight_scale",
    ".weight_scale_inv",
    ".input_scale",
    ".output_scale",
    ".weight_zero_point",
    ".weight_g_idx",
    ".weight_shape",
    ".k_scale",
    ".v_scale",
    ".absmax",
    ".quant_map",
    ".nested_absmax",
    ".nested_quant_map",
)
_PACKED_SUFFIXES = (".qweight", ".weight_packed")
_BITS_IN_INT32 = 32


def count_tensor_params(
    tensors: Iterable[TensorHeader], *, quant_bits: int | None, tie_word_embeddings: bool
) -> int:
    """Number of model parameters in a set of safetensors tensors.

    Packed int32 tensors (`*.qweight`, `*.weight_packed`) hold 32 / bits values each; 4-bit
    bitsandbytes weights hold two values per uint8. Scales, zero points and other side tensors
    are not parameters. A stored `lm_head.weight` is skipped when the embeddings are tied,
    because the serving engine reuses the embedding matrix.
    """
    total = 0
    for tensor in tensors:
        if ".quant_state" in tensor.name or tensor.name.endswith(_QUANT_SIDE_SUFFIXES):
            continue
        if tie_word_embeddings and tensor.name.endswith("lm_head.weight"):
            continue
        elements = prod(tensor.shape) if tensor.shape else 1
        if tensor.name.endswith(_PACKED_SUFFIXES) and tensor.dtype == "I32" and quant_bits:
            elements *= _BITS_IN_INT32 // quant_bits
        elif tensor.dtype == "U8" and quant_bits == 4:
            elements *= 2
        total += elements
    return total
