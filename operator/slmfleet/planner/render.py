"""Fixed-width text tables of memory plans, for the command-line tools."""

from __future__ import annotations

from collections.abc import Sequence

from slmfleet.planner.facts import ModelFacts
from slmfleet.planner.fit import plan_memory
from slmfleet.planner.plan import MemoryPlan, gib
from slmfleet.planner.request import GPUSpec, ServingRequest

_KIB = 1024


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(header), rule, *(line(row) for row in rows)]


def _gib_text(value: int) -> str:
    return f"{gib(value):.2f} GiB"


def render_plan_table(plan: MemoryPlan) -> str:
    """One plan as a two-column table, then its verdict and warnings."""
    verdict = "FITS" if plan.fits else "DOES NOT FIT"
    rows = [
        ("gpu class", plan.gpu),
        ("tensor parallel size", str(plan.tensor_parallel_size)),
        ("quantization", plan.quantization),
        ("dtype / kv cache dtype", f"{plan.dtype} / {plan.kv_cache_dtype}"),
        ("total memory", _gib_text(plan.total_bytes)),
        ("gpu memory utilization", f"{plan.gpu_memory_utilization:.2f}"),
        ("usable memory", _gib_text(plan.usable_bytes)),
        ("weights", _gib_text(plan.weights_bytes)),
        ("overhead", _gib_text(plan.overhead_bytes)),
        (
            "activation peak",
            f"{_gib_text(plan.activation_bytes)} ({plan.max_num_batched_tokens} batched tokens)",
        ),
        ("kv cache budget", _gib_text(max(0, plan.kv_budget_bytes))),
        ("kv cache per token", f"{plan.kv_bytes_per_token / _KIB:.1f} KiB"),
        ("max model len", f"{plan.max_model_len} tokens"),
        ("kv cache per sequence", _gib_text(plan.kv_bytes_per_sequence)),
        ("kv cache requested", f"{_gib_text(plan.kv_bytes_requested)} ({plan.max_num_seqs} seqs)"),
        ("max context that fits", f"{plan.max_context_that_fits} tokens"),
        ("max concurrent sequences", str(plan.max_concurrent_sequences)),
    ]
    lines = _table(("item", "value"), rows, right=set())
    lines += ["", f"{verdict}: {plan.reason}"]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    return "\n".join(lines)


def render_fit_matrix(facts: ModelFacts, request: ServingRequest, gpus: Sequence[GPUSpec]) -> str:
    """One row per GPU class: does the model fit, at what context and concurrency, and why not."""
    header = (
        "GPU",
        "MEMORY",
        "TP",
        "FITS",
        "DTYPE",
        "WEIGHTS",
        "MAX-LEN",
        "MAX-CTX",
        "SEQS",
        "UTIL",
        "NOTE",
    )
    rows = []
    for gpu in gpus:
        plan = plan_memory(facts, request, gpu)
        note = (
            ""
            if plan.fits and not plan.warnings
            else (plan.reason if not plan.fits else plan.warnings[0])
        )
        rows.append(
            (
                gpu.name,
                f"{gpu.memory_gib:g} GiB",
                str(plan.tensor_parallel_size),
                "yes" if plan.fits else "no",
                plan.dtype,
                f"{gib(plan.weights_bytes):.2f}",
                str(plan.max_model_len),
                str(plan.max_context_that_fits),
                str(plan.max_concurrent_sequences),
                f"{plan.gpu_memory_utilization:.2f}",
                note,
            )
        )
    title = (
        f"{facts.repo}: {facts.param_count:,} parameters ({facts.param_count_source}), "
        f"quantization {request.quantization}, max_num_seqs {request.max_num_seqs}"
    )
    return "\n".join([title, *_table(header, rows, right={2, 5, 6, 7, 8, 9})])
