"""Compatibility checks between a model, a serving request and a GPU class.

Resolves dtype, KV cache dtype, effective quantization and tensor parallelism the way vLLM does,
and collects warnings (it starts, with a caveat) and blockers (it would not start).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slmfleet.planner.facts import ModelFacts, TorchDType
from slmfleet.planner.request import GPUSpec, ServingRequest

BF16_CAPABILITY = (8, 0)
FP8_NATIVE_CAPABILITY = (8, 9)
FP8_MARLIN_CAPABILITY = (8, 0)
INT4_CAPABILITY = (7, 5)
FP16_UNSTABLE_TYPES = ("gemma2", "gemma3", "gemma3_text", "plamo2", "glm4")
PLUGIN_QUANTIZATIONS = ("bitsandbytes", "gguf")
PREQUANTIZED_ONLY = ("awq", "gptq", "compressed-tensors", "gguf")
KNOWN_QUANTIZATIONS = ("awq", "gptq", "fp8", "compressed-tensors", "bitsandbytes", "gguf")
FP8_KV_DTYPES = ("fp8", "fp8_e4m3", "fp8_e5m2")
SIXTEEN_BIT_KV_DTYPES = ("float16", "bfloat16")
BATCHED_TOKENS_SMALL_GPU = 2048
BATCHED_TOKENS_LARGE_GPU = 8192
BATCHED_TOKENS_HUGE_GPU = 16384
LARGE_GPU_GIB = 70
HUGE_GPU_GIB = 160
_MAX_TP_HINT = 16


@dataclass(frozen=True)
class Resolution:
    """What vLLM would run with, and why it would or would not start."""

    dtype: TorchDType
    kv_cache_dtype: str
    quant_method: str | None
    quant_bits: int | None
    tensor_parallel_size: int
    warnings: tuple[str, ...]
    blockers: tuple[str, ...]
    max_num_batched_tokens: int = BATCHED_TOKENS_SMALL_GPU
    pass_batched_tokens: bool = False


@dataclass
class _Notes:
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)


def _cc(gpu: GPUSpec) -> str:
    return f"{gpu.name} (compute capability {gpu.compute_capability})"


def _quantization(
    facts: ModelFacts, request: ServingRequest, notes: _Notes
) -> tuple[str | None, int | None]:
    requested = request.quantization
    checkpoint = facts.quant_method
    if checkpoint:
        if requested not in ("none", checkpoint):
            notes.blockers.append(
                f"{facts.repo} is a {checkpoint}-quantized checkpoint but quantization "
                f"{requested} was requested: set quantization to none (vLLM reads it from the "
                f"checkpoint) or {checkpoint}."
            )
        if checkpoint not in KNOWN_QUANTIZATIONS:
            notes.warnings.append(
                f"Quantization method {checkpoint} is estimated as "
                f"{facts.quant_bits or 8}-bit weights."
            )
        return checkpoint, facts.quant_bits
    if requested == "none":
        return None, None
    if requested in PREQUANTIZED_ONLY:
        notes.warnings.append(
            f"{facts.repo} has no {requested} quantization_config and vLLM cannot quantize to "
            f"{requested} on the fly: the estimate assumes a pre-quantized {requested} "
            "checkpoint of the same architecture; point the model at one."
        )
    return requested, None


def _dtype(facts: ModelFacts, request: ServingRequest, gpu: GPUSpec, notes: _Notes) -> TorchDType:
    has_bf16 = gpu.capability >= BF16_CAPABILITY
    fp16_ok = facts.model_type not in FP16_UNSTABLE_TYPES
    supported: list[TorchDType] = ["bfloat16"] if has_bf16 else []
    supported += ["float16"] if fp16_ok else []
    supported.append("float32")
    preferred = supported[0]
    if request.dtype == "auto":
        if facts.torch_dtype == "float32":
            return preferred
        if facts.torch_dtype in supported:
            return facts.torch_dtype
        why = "" if fp16_ok else f" ({facts.model_type} is unstable in float16), doubling weights"
        notes.warnings.append(
            f"{_cc(gpu)} has no bfloat16: dtype auto falls back to {preferred}{why}; "
            "a GPU class with compute capability >= 8.0 runs the model in bfloat16."
        )
        return preferred
    chosen: TorchDType = request.dtype
    if chosen == "bfloat16" and not has_bf16:
        notes.blockers.append(
            f"dtype bfloat16 needs compute capability >= 8.0 but {_cc(gpu)} lacks it: set dtype "
            "to float16 (or auto), or choose a GPU class with compute capability >= 8.0."
        )
    if chosen == "float16" and not fp16_ok:
        notes.blockers.append(
            f"{facts.model_type} is numerically unstable in float16 and vLLM refuses it: set "
            "dtype to bfloat16 (compute capability >= 8.0) or float32."
        )
    elif chosen == "float16" and facts.torch_dtype == "bfloat16" and has_bf16:
        notes.warnings.append(
            "Casting a bfloat16 model to float16 can overflow; dtype auto keeps bfloat16 here."
        )
    return chosen


def _kv_cache_dtype(request: ServingRequest, dtype: TorchDType, gpu: GPUSpec, notes: _Notes) -> str:
    chosen = request.kv_cache_dtype
    if chosen == "auto":
        return dtype
    if chosen in SIXTEEN_BIT_KV_DTYPES and chosen != dtype:
        notes.blockers.append(
            f"kv_cache_dtype {chosen} differs from the model dtype {dtype} on {gpu.name}, and "
            "vLLM refuses a 16-bit KV cache in another dtype than the model's: set "
            "kv_cache_dtype to auto (or fp8), or dtype to match it."
        )
    if chosen in FP8_KV_DTYPES:
        if gpu.capability < FP8_MARLIN_CAPABILITY:
            notes.blockers.append(
                f"An fp8 KV cache needs compute capability >= 8.0 but {_cc(gpu)} lacks it: "
                "set kv_cache_dtype to auto."
            )
        elif gpu.capability < FP8_NATIVE_CAPABILITY:
            notes.warnings.append(
                f"fp8 KV cache on {_cc(gpu)}: stored in 8 bits and up-cast inside attention, so "
                "memory is as planned but attention is slower than on compute capability >= 8.9."
            )
    return chosen


def _quantization_support(
    method: str | None, dtype: TorchDType, gpu: GPUSpec, plugins: tuple[str, ...], notes: _Notes
) -> None:
    if method == "fp8":
        if gpu.capability < FP8_MARLIN_CAPABILITY:
            notes.blockers.append(
                f"fp8 weights need compute capability >= 8.0 (8.9 for native fp8) but {_cc(gpu)} "
                "lacks it: use an unquantized or awq/gptq checkpoint, or a GPU class with "
                "compute capability >= 8.9."
            )
        elif gpu.capability < FP8_NATIVE_CAPABILITY:
            notes.warnings.append(
                f"{_cc(gpu)} has no native fp8: vLLM runs weight-only fp8 (Marlin), so memory "
                "is as planned but prefill is slower than on compute capability >= 8.9."
            )
    elif method in ("awq", "gptq", "compressed-tensors"):
        if gpu.capability < INT4_CAPABILITY:
            notes.blockers.append(
                f"{method} kernels need compute capability >= 7.5 (Turing) but {_cc(gpu)} lacks "
                "it: serve the unquantized model or choose a newer GPU class."
            )
        if method != "compressed-tensors" and dtype == "float32":
            notes.blockers.append(
                f"{method} kernels run in float16 or bfloat16, not float32: set dtype to "
                "float16 or bfloat16."
            )
    missing = missing_plugin(method, plugins)
    if missing:
        notes.blockers.append(missing)


def missing_plugin(method: str | None, plugins: tuple[str, ...]) -> str | None:
    """Why `method` cannot run without a plugin the engine does not declare, or None.

    bitsandbytes and gguf are not among vLLM 0.33's registered quantization methods
    (model_executor/layers/quantization/__init__.py); their plugins register them.
    """
    if method not in PLUGIN_QUANTIZATIONS or method in plugins:
        return None
    return (
        f"vLLM 0.33 serves {method} checkpoints only through its out-of-tree {method} plugin, "
        "which the default image lacks: set spec.engine.image to an image with the plugin and "
        f"list {method} in spec.engine.quantizationPlugins, or use an awq, gptq or fp8 checkpoint."
    )


def default_batched_tokens(gpu: GPUSpec) -> int:
    """`vllm serve`'s max_num_batched_tokens on one GPU of `gpu` (engine/arg_utils.py)."""
    if gpu.memory_gib >= HUGE_GPU_GIB:
        return BATCHED_TOKENS_HUGE_GPU
    if gpu.memory_gib >= LARGE_GPU_GIB and "a100" not in gpu.product.lower():
        return BATCHED_TOKENS_LARGE_GPU
    return BATCHED_TOKENS_SMALL_GPU


def _batched_tokens(request: ServingRequest, gpu: GPUSpec, notes: _Notes) -> tuple[int, bool]:
    """Tokens one forward pass takes, and whether the operator must pass the flag.

    vLLM refuses max_num_seqs above max_num_batched_tokens (config/scheduler.py): the default
    is raised to max_num_seqs, a value set in extraArgs below it is refused.
    """
    seqs = request.max_num_seqs
    given = request.max_num_batched_tokens
    if given is not None:
        if given < seqs:
            notes.blockers.append(
                f"--max-num-batched-tokens {given} in extraArgs is below maxNumSeqs {seqs}, "
                "and vLLM refuses that: raise it to at least maxNumSeqs or lower maxNumSeqs."
            )
        return given, False
    default = default_batched_tokens(gpu)
    return (seqs, True) if seqs > default else (default, False)


def _valid_tp_sizes(facts: ModelFacts) -> list[int]:
    kv = facts.kv_heads
    return [
        size
        for size in range(1, _MAX_TP_HINT + 1)
        if facts.attention_heads % size == 0 and (kv % size == 0 if size <= kv else size % kv == 0)
    ]


def _tensor_parallel(
    facts: ModelFacts, request: ServingRequest, gpu: GPUSpec, notes: _Notes
) -> int:
    size = request.tensor_parallel_size or gpu.gpus_per_replica
    heads, kv = facts.attention_heads, facts.kv_heads
    kv_ok = kv % size == 0 if size <= kv else size % kv == 0
    if heads % size or not kv_ok:
        options = ", ".join(str(s) for s in _valid_tp_sizes(facts))
        notes.blockers.append(
            f"tensor_parallel_size {size} must divide the {heads} attention heads and divide "
            f"(or be a multiple of) the {kv} KV heads of {facts.repo}: use one of {options}."
        )
    elif size > kv:
        notes.warnings.append(
            f"tensor_parallel_size {size} exceeds the {kv} KV heads: vLLM replicates KV heads "
            f"so each rank holds one, and the KV cache per token grows to {size} heads."
        )
    if size != gpu.gpus_per_replica:
        notes.warnings.append(
            f"tensor_parallel_size {size} differs from the {gpu.gpus_per_replica} GPU(s) per "
            f"replica of {gpu.name}: the plan assumes {size} GPUs per replica."
        )
    return size


def resolve(facts: ModelFacts, request: ServingRequest, gpu: GPUSpec) -> Resolution:
    """Resolve what vLLM would run with; collect warnings and blockers."""
    notes = _Notes()
    method, bits = _quantization(facts, request, notes)
    dtype = _dtype(facts, request, gpu, notes)
    kv_dtype = _kv_cache_dtype(request, dtype, gpu, notes)
    _quantization_support(method, dtype, gpu, request.quantization_plugins, notes)
    tp = _tensor_parallel(facts, request, gpu, notes)
    batched, pass_batched = _batched_tokens(request, gpu, notes)
    limit = facts.max_position_embeddings
    if request.max_model_len is not None and request.max_model_len > limit:
        notes.blockers.append(
            f"max_model_len {request.max_model_len} exceeds the {limit} tokens "
            f"(max_position_embeddings) of {facts.repo}: set max_model_len to at most {limit}."
        )
    return Resolution(
        dtype=dtype,
        kv_cache_dtype=kv_dtype,
        quant_method=method,
        quant_bits=bits,
        tensor_parallel_size=tp,
        warnings=tuple(notes.warnings),
        blockers=tuple(notes.blockers),
        max_num_batched_tokens=batched,
        pass_batched_tokens=pass_batched,
    )
