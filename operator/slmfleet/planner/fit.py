"""plan_memory: does a model fit a GPU class for a serving request; smallest_fitting: which class."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import ceil, inf

from slmfleet.planner.arithmetic import (
    DEFAULT_UTILIZATION,
    DTYPE_BYTES,
    KV_DTYPE_BYTES,
    KVLayout,
    activation_bytes,
    kv_layout,
    overhead_bytes,
    usable_bytes,
    utilization_needed,
    weights_bytes,
)
from slmfleet.planner.compat import resolve
from slmfleet.planner.facts import ModelFacts
from slmfleet.planner.plan import MemoryPlan, gib
from slmfleet.planner.request import GPUSpec, ServingRequest

MAX_SUGGESTED_UTILIZATION = 0.95
UTILIZATION_MARGIN = Fraction(2, 100)
CONTEXT_STEP = 1024


def _resolve_length(
    facts: ModelFacts, request: ServingRequest, kv: KVLayout, budgets: Sequence[int]
) -> tuple[int, str | None]:
    """The requested max_model_len, or the model's reduced to a multiple of 1024 that fits.

    `budgets` are the KV budgets at the utilizations the planner may choose, in order of
    preference; the first one that holds at least 1024 tokens decides.
    """
    limit = facts.max_position_embeddings
    if request.max_model_len is not None:
        return request.max_model_len, None
    for budget in budgets:
        fitting = kv.max_tokens(budget, limit)
        if fitting >= limit:
            return limit, None
        reduced = fitting // CONTEXT_STEP * CONTEXT_STEP
        if reduced >= CONTEXT_STEP:
            return reduced, (
                f"max_model_len not set: reduced from the model's {limit} tokens to {reduced}, "
                "the largest multiple of 1024 that fits; set it explicitly to silence this."
            )
    return limit, None  # not even 1024 tokens fit: report against the model's length


def _hundredths_up(value: Fraction) -> float:
    return ceil(value * 100) / 100


def _utilization(request: ServingRequest, needed: Fraction, load: str) -> tuple[float, str | None]:
    """The user's value, or 0.92 raised (up to 0.95) until the requested load fits with 2% margin."""
    target = _hundredths_up(needed + UTILIZATION_MARGIN)
    given = request.gpu_memory_utilization
    if given is None:
        chosen = min(MAX_SUGGESTED_UTILIZATION, max(DEFAULT_UTILIZATION, target))
        if chosen <= DEFAULT_UTILIZATION:
            return chosen, None
        if target <= MAX_SUGGESTED_UTILIZATION:
            note = f"gpu_memory_utilization suggested {chosen} (above the default 0.92) to hold {load}."
        else:
            note = (
                f"gpu_memory_utilization suggested {chosen}, the most the planner proposes; "
                f"{load} would need {target}."
            )
        return chosen, note
    if target > given and target <= MAX_SUGGESTED_UTILIZATION:
        return given, f"Holding {load} needs gpu_memory_utilization {target}; it is set to {given}."
    return given, None


def _memory_blocker(
    plan_gpu: str,
    *,
    weights: int,
    overhead: int,
    usable: int,
    per_sequence: int,
    length: int,
    fitting: int,
) -> str | None:
    budget = usable - weights - overhead
    if budget <= 0:
        return (
            f"Weights ({gib(weights)} GiB) plus runtime overhead and activations "
            f"({gib(overhead)} GiB) exceed the {gib(usable)} GiB usable on {plan_gpu}: quantize (awq, gptq or fp8), add tensor "
            "parallelism, or choose a GPU class with more memory."
        )
    if per_sequence > budget:
        return (
            f"One {length}-token sequence needs {gib(per_sequence)} GiB of KV cache but only "
            f"{gib(budget)} GiB is left after weights, overhead and activations on {plan_gpu}; "
            f"the max context that fits is {fitting} tokens: set max_model_len to at most {fitting}, use "
            "kv_cache_dtype fp8, quantize the weights, or choose a larger GPU class."
        )
    return None


def plan_memory(facts: ModelFacts, request: ServingRequest, gpu: GPUSpec) -> MemoryPlan:
    """Plan the memory of one replica of `facts` on `gpu` serving `request` (pure)."""
    res = resolve(facts, request, gpu)
    tp = res.tensor_parallel_size
    total = gpu.memory_bytes * tp
    weights = weights_bytes(facts, res.quant_method, res.quant_bits, DTYPE_BYTES[res.dtype])
    kv = kv_layout(facts, KV_DTYPE_BYTES[res.kv_cache_dtype], tp)
    activation = activation_bytes(
        facts,
        batched_tokens=res.max_num_batched_tokens,
        max_num_seqs=request.max_num_seqs,
        dtype_bytes=DTYPE_BYTES[res.dtype],
        tensor_parallel_size=tp,
    )
    overhead = overhead_bytes(total, tp) + activation
    given = request.gpu_memory_utilization
    trials = (given,) if given is not None else (DEFAULT_UTILIZATION, MAX_SUGGESTED_UTILIZATION)
    budgets = [usable_bytes(total, trial) - weights - overhead for trial in trials]
    length, length_note = _resolve_length(facts, request, kv, budgets)
    per_sequence = kv.sequence_bytes(length)
    requested = per_sequence * request.max_num_seqs
    load = f"{request.max_num_seqs} sequences of {length} tokens"
    needed = utilization_needed(total, weights + overhead + requested)
    utilization, utilization_note = _utilization(request, needed, load)
    usable = usable_bytes(total, utilization)
    budget = usable - weights - overhead
    fitting = kv.max_tokens(budget, facts.max_position_embeddings)
    concurrent = max(0, budget // per_sequence) if per_sequence else 0
    blockers = list(res.blockers)
    memory = _memory_blocker(
        gpu.name,
        weights=weights,
        overhead=overhead,
        usable=usable,
        per_sequence=per_sequence,
        length=length,
        fitting=fitting,
    )
    if memory:
        blockers.append(memory)
    warnings = [*res.warnings, *(note for note in (length_note, utilization_note) if note)]
    if not blockers and concurrent < request.max_num_seqs:
        warnings.append(
            f"Only {concurrent} of the {request.max_num_seqs} requested sequences fit at "
            f"{length} tokens each; vLLM queues the rest. Lower max_model_len, use "
            "kv_cache_dtype fp8 or a larger GPU class to hold them all."
        )
    if blockers:
        reason = blockers[0]
    else:
        held = min(concurrent, request.max_num_seqs)
        reason = (
            f"Fits on {gpu.name}: {gib(weights)} GiB weights + {gib(overhead - activation)} GiB "
            f"overhead + {gib(activation)} GiB activations + "
            f"KV cache for {held} x {length} tokens within {gib(usable)} GiB "
            f"(gpu_memory_utilization {utilization})."
        )
    return MemoryPlan(
        fits=not blockers,
        reason=reason,
        gpu=gpu.name,
        dtype=res.dtype,
        kv_cache_dtype=res.kv_cache_dtype,
        tensor_parallel_size=tp,
        weights_bytes=weights,
        kv_bytes_per_token=kv.bytes_per_token,
        kv_bytes_per_sequence=per_sequence,
        kv_bytes_requested=requested,
        overhead_bytes=overhead - activation,
        activation_bytes=activation,
        total_bytes=total,
        usable_bytes=usable,
        max_model_len=length,
        max_context_that_fits=fitting,
        max_concurrent_sequences=concurrent,
        gpu_memory_utilization=utilization,
        warnings=tuple(warnings),
        quantization=res.quant_method or "none",
        max_num_seqs=request.max_num_seqs,
        max_num_batched_tokens=res.max_num_batched_tokens,
        pass_batched_tokens=res.pass_batched_tokens,
    )


def smallest_fitting(
    facts: ModelFacts, request: ServingRequest, gpus: Sequence[GPUSpec]
) -> GPUSpec | None:
    """The fitting GPU class with the least total memory per replica (tie: lowest price)."""
    candidates: list[tuple[int, float, str, GPUSpec]] = []
    for gpu in gpus:
        plan = plan_memory(facts, request, gpu)
        if plan.fits:
            tp = plan.tensor_parallel_size
            price = inf if gpu.price_per_gpu_hour is None else gpu.price_per_gpu_hour * tp
            candidates.append((plan.total_bytes, price, gpu.name, gpu))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]
