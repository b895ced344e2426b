"""SmallModel status: phase, conditions, the memory-fit plan and what is deployed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slmfleet.api.autoscaling import AutoscalingStatus
from slmfleet.api.base import StatusModel
from slmfleet.api.common import CONDITIONS_LIST, Condition
from slmfleet.api.cost_status import CostStatus
from slmfleet.api.drain_status import DrainStatus
from slmfleet.api.eval_progress import EvalProgress
from slmfleet.api.rollout_status import HistoryEntry, RolloutStatus
from slmfleet.api.weight_cache import ColdStart, WeightCacheStatus

Phase = Literal["Pending", "Progressing", "Ready", "Stalled", "Degraded"]
PHASES: tuple[Phase, ...] = ("Pending", "Progressing", "Ready", "Stalled", "Degraded")


class FitPlan(StatusModel):
    """The planner's verdict on whether the model fits the GPU class, and its numbers."""

    fits: bool = Field(description="Whether weights, KV cache and overhead fit the GPU.")
    reason: str = Field("", description="Why it does or does not fit, in words.")
    gpu: str | None = Field(None, description="GPUClass the plan is for.")
    quantization: str | None = Field(None, description="Weight quantization the plan assumes.")
    dtype: str | None = Field(None, description="Weight dtype the plan resolved (never auto).")
    kv_cache_dtype: str | None = Field(None, description="KV cache dtype the plan assumes.")
    tensor_parallel_size: int | None = Field(None, description="GPUs the model is sharded over.")
    weights_gib: float | None = Field(None, alias="weightsGiB", description="Weights per GPU, GiB.")
    kv_bytes_per_token: int | None = Field(
        None, description="KV cache bytes one token takes across all layers (whole model)."
    )
    kv_per_sequence_gib: float | None = Field(
        None, alias="kvPerSequenceGiB", description="KV cache of one maxModelLen sequence, GiB."
    )
    kv_requested_gib: float | None = Field(
        None,
        alias="kvRequestedGiB",
        description="KV cache for maxNumSeqs sequences of maxModelLen tokens, GiB.",
    )
    overhead_gib: float | None = Field(
        None, alias="overheadGiB", description="CUDA context, graphs and runtime, GiB."
    )
    activation_gib: float | None = Field(
        None,
        alias="activationGiB",
        description="Peak activation memory of vLLM's profiling run (forward pass and sampler), GiB.",
    )
    max_num_batched_tokens: int | None = Field(
        None, description="Tokens one forward pass takes (vLLM max_num_batched_tokens)."
    )
    total_gib: float | None = Field(
        None, alias="totalGiB", description="GPU memory of one replica (all its GPUs), GiB."
    )
    usable_gib: float | None = Field(
        None, alias="usableGiB", description="Memory vLLM may use (total x utilization), GiB."
    )
    max_model_len: int | None = Field(None, description="Context length the engine is given.")
    max_context_that_fits: int | None = Field(
        None, description="Longest single sequence whose KV cache fits."
    )
    max_num_seqs: int | None = Field(None, description="Concurrency the plan was made for.")
    max_concurrent_sequences: int | None = Field(
        None, description="maxModelLen sequences the KV cache holds at once."
    )
    gpu_memory_utilization: float | None = Field(
        None, description="Fraction of GPU memory given to vLLM."
    )
    warnings: list[str] = Field(default_factory=list, description="Things worth a look.")


class SmallModelStatus(StatusModel):
    """What the operator observed and decided."""

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra=CONDITIONS_LIST,
        description="Latest observations, such as Ready, Fits and Progressing.",
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation this status describes."
    )
    phase: Phase | None = Field(
        None, description="Pending, Progressing, Ready, Stalled or Degraded."
    )
    plan: FitPlan | None = Field(None, description="Memory-fit plan for the GPU class.")
    replicas: int | None = Field(None, ge=0, description="Replicas that exist.")
    ready_replicas: int | None = Field(None, ge=0, description="Replicas that serve traffic.")
    selector: str | None = Field(
        None, description="Label selector of the replicas' Pods, for the scale subresource."
    )
    image: str | None = Field(None, description="Engine image being served.")
    revision: str | None = Field(None, description="Model revision being served.")
    served_model_name: str | None = Field(None, description="Name clients request.")
    template_hash: str | None = Field(None, description="Hash of the current Pod template.")
    autoscaling: AutoscalingStatus | None = Field(
        None, description="The autoscaler's last decision and its recent recommendations."
    )
    rollout: RolloutStatus | None = Field(
        None, description="Canary rollout of the latest revision."
    )
    history: list[HistoryEntry] = Field(
        default_factory=list, description="Revisions that served, newest first, for rollback."
    )
    eval_progress: EvalProgress | None = Field(
        None,
        description=(
            "The eval of the analysis in flight, cases done per side: written every few seconds "
            "while a long eval runs, removed when its result is in rollout.lastEval."
        ),
    )
    cost: CostStatus | None = Field(
        None, description="GPU-hours, tokens and cost per token, over a window and since creation."
    )
    draining: list[DrainStatus] | None = Field(
        None,
        description=(
            "Revisions leaving (an old stable, a rolled-back canary) whose pods wait until no "
            "router sends to them and their requests finished, or the drain timeout passes."
        ),
    )
    cache: WeightCacheStatus | None = Field(
        None, description="The weight cache of the spec's revision and its download progress."
    )
    cold_starts: list[ColdStart] = Field(
        default_factory=list,
        description="Time to the first Ready pod of the latest revisions, newest first.",
    )
