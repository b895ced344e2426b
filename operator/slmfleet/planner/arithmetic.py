"""Byte arithmetic of a vLLM replica: weights, KV cache, overhead, usable memory, max context.

Every function is pure integer arithmetic (exact fractions where a factor is not whole), so the
numbers can be checked by hand. docs/planner.md gives each formula with a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from slmfleet.planner.facts import ModelFacts
from slmfleet.planner.param_count import embedding_params, text_params
from slmfleet.planner.request import GIB

KV_FRAGMENTATION = Fraction(115, 100)
OVERHEAD_FLOOR_BYTES = GIB
OVERHEAD_SHARE = Fraction(2, 100)
TP_RANK_OVERHEAD_BYTES = GIB // 4
SAMPLER_BYTES_PER_LOGIT = 40
DEFAULT_UTILIZATION = 0.92

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4}
KV_DTYPE_BYTES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
}
_GGUF_BYTES_PER_PARAM = Fraction(3, 5)  # ~Q4_K_M: 4.85 bits per weight
_SCALE_BYTES_PER_PARAM = Fraction(1, 20)  # group scales and zero points of sub-8-bit formats
_DEFAULT_BITS = {"awq": 4, "gptq": 4, "bitsandbytes": 4}
_BYTE_BITS = 8


def quantized_bytes_per_param(method: str, bits: int | None) -> Fraction:
    """Bytes per quantized weight: 8-bit 1.0, 4-bit 0.55 (0.5 + scales), gguf 0.6."""
    if method == "gguf":
        return _GGUF_BYTES_PER_PARAM
    if method == "fp8":
        return Fraction(1)
    width = bits or _DEFAULT_BITS.get(method, _BYTE_BITS)
    if width >= _BYTE_BITS:
        return Fraction(width, _BYTE_BITS)
    return Fraction(width, _BYTE_BITS) + _SCALE_BYTES_PER_PARAM


def unquantized_params(facts: ModelFacts) -> int:
    """Parameters a quantized checkpoint keeps in 16 bits: embeddings, an untied LM head and,
    for multimodal models, everything beyond the language model (the vision tower)."""
    shape = facts.text_shape()
    kept = embedding_params(shape)
    if facts.multimodal:
        kept += max(0, facts.param_count - text_params(shape))
    return min(kept, facts.param_count)


def weights_bytes(
    facts: ModelFacts, quant_method: str | None, quant_bits: int | None, dtype_bytes: int
) -> int:
    """Bytes of weights across all tensor-parallel ranks."""
    if quant_method is None:
        return facts.param_count * dtype_bytes
    kept = unquantized_params(facts)
    quantized = facts.param_count - kept
    return kept * dtype_bytes + ceil(
        quantized * quantized_bytes_per_param(quant_method, quant_bits)
    )


@dataclass(frozen=True)
class KVLayout:
    """KV cache shape of one replica: bytes per layer per token and which layers slide."""

    bytes_per_layer_token: int
    global_layers: int
    local_layers: int
    window: int | None

    @property
    def bytes_per_token(self) -> int:
        """2 x L x H_kv x head_dim x dtype bytes: every layer, before any window applies."""
        return self.bytes_per_layer_token * (self.global_layers + self.local_layers)

    def raw_bytes(self, tokens: int) -> int:
        """KV bytes of one sequence of `tokens`; sliding layers hold at most `window` tokens."""
        local_tokens = min(tokens, self.window) if self.window else tokens
        return self.bytes_per_layer_token * (
            self.global_layers * tokens + self.local_layers * local_tokens
        )

    def sequence_bytes(self, tokens: int) -> int:
        """raw_bytes times the fragmentation factor 1.15, rounded up."""
        return ceil(self.raw_bytes(tokens) * KV_FRAGMENTATION)

    def max_tokens(self, budget: int, limit: int) -> int:
        """The longest sequence whose sequence_bytes fit in `budget`, at most `limit`."""
        if budget <= 0:
            return 0
        cap = floor(budget / KV_FRAGMENTATION)  # raw bytes allowed
        tokens = cap // self.bytes_per_token
        if self.window and self.local_layers and tokens > self.window:
            if self.global_layers == 0:
                return limit
            remaining = cap - self.bytes_per_layer_token * self.local_layers * self.window
            tokens = remaining // (self.bytes_per_layer_token * self.global_layers)
        return min(tokens, limit)


def kv_layout(facts: ModelFacts, kv_dtype_bytes: int, tensor_parallel_size: int) -> KVLayout:
    """With TP above the KV head count vLLM replicates heads: each rank holds one."""
    heads = max(facts.kv_heads, tensor_parallel_size)
    return KVLayout(
        bytes_per_layer_token=2 * heads * facts.head_dim * kv_dtype_bytes,
        global_layers=facts.global_layers if facts.sliding_window else facts.layers,
        local_layers=facts.local_layers,
        window=facts.sliding_window,
    )


def overhead_bytes(total_bytes: int, tensor_parallel_size: int) -> int:
    """max(1 GiB, 2% of replica memory) + 0.25 GiB per extra TP rank: CUDA context, graphs."""
    base = max(OVERHEAD_FLOOR_BYTES, ceil(total_bytes * OVERHEAD_SHARE))
    return base + (tensor_parallel_size - 1) * TP_RANK_OVERHEAD_BYTES


def activation_bytes(
    facts: ModelFacts,
    *,
    batched_tokens: int,
    max_num_seqs: int,
    dtype_bytes: int,
    tensor_parallel_size: int,
) -> int:
    """Peak activation memory of vLLM's profiling run, on all ranks.

    vLLM profiles one forward pass of max_num_batched_tokens tokens, then the sampler on
    max_num_seqs rows of logits (v1/worker/gpu_model_runner.py, profile_run). Per rank the peak
    is the larger of the forward pass (residual and normed input, 2 x hidden, plus the MLP's
    gate/up and activated outputs, 3 x intermediate / TP, per token) and the sampler (the
    hidden states kept, plus 40 float32-bytes per logit: logits, probabilities, top-k/top-p
    sort values and int64 indices, cumulative sums and masks over max_num_seqs x vocab).
    """
    tp = tensor_parallel_size
    hidden = facts.hidden_size
    forward = batched_tokens * (2 * hidden + 3 * ceil(facts.intermediate_size / tp))
    kept = batched_tokens * hidden * dtype_bytes
    sampler = kept + max_num_seqs * facts.vocab_size * SAMPLER_BYTES_PER_LOGIT
    return max(forward * dtype_bytes, sampler) * tp


def usable_bytes(total_bytes: int, utilization: float) -> int:
    """total x gpu_memory_utilization, rounded down (the utilization taken as its decimal)."""
    return floor(total_bytes * Fraction(str(utilization)))


def utilization_needed(total_bytes: int, held_bytes: int) -> Fraction:
    """The fraction of total memory that `held_bytes` occupy."""
    return Fraction(held_bytes, total_bytes)
