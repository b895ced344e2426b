"""SmallModel: one small language model served by vLLM on one GPUClass, with its replicas."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field

from slmfleet import API_VERSION
from slmfleet.api.autoscaling import SCALE_TO_ZERO_NEEDS_MIN_ZERO, AutoscalingSpec
from slmfleet.api.base import ApiModel, SpecModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import ObjectMeta, ObjectName
from slmfleet.api.crdmeta import AGE_COLUMN, KindInfo, PrinterColumn, ScaleSubresource
from slmfleet.api.engine import EngineSpec
from slmfleet.api.model_source import LoraAdapter, ModelSource, ServedName
from slmfleet.api.rollout import RolloutSpec, RolloutStrategy
from slmfleet.api.smallmodel_status import SmallModelStatus
from slmfleet.api.weight_cache import WeightCacheSpec

Quantization = Literal["none", "awq", "gptq", "fp8", "compressed-tensors", "bitsandbytes", "gguf"]
DType = Literal["auto", "float16", "bfloat16", "float32"]
KVCacheDType = Literal["auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"]
TensorParallelSize = Literal[1, 2, 4, 8]
LoraRank = Literal[8, 16, 32, 64, 128, 256]

QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)
DTYPES: tuple[str, ...] = get_args(DType)
KV_CACHE_DTYPES: tuple[str, ...] = get_args(KVCacheDType)

MAX_LORA_ADAPTERS = 64
__all__ = ["RolloutSpec", "RolloutStrategy", "SmallModel", "SmallModelSpec"]

SERVED_NAME_IMMUTABLE = Cel(
    "!has(oldSelf.servedModelName) || (has(self.servedModelName)"
    " && self.servedModelName == oldSelf.servedModelName)",
    "servedModelName is immutable once set: clients depend on it",
    field_path=".servedModelName",
)

UniqueAdapters = Annotated[
    list[LoraAdapter],
    Cel(
        "self.all(a, self.exists_one(b, b.name == a.name))",
        "loraAdapters names must be unique",
        lambda adapters: len({a.name for a in adapters}) == len(adapters),
    ),
]


class SmallModelSpec(SpecModel):
    """The model, how vLLM runs it, on which GPU class, and how many replicas."""

    CEL_RULES = (
        Cel(
            "self.minReplicas <= self.maxReplicas",
            "minReplicas must be less than or equal to maxReplicas",
            lambda s: s.min_replicas <= s.max_replicas,
        ),
        Cel(
            "!has(self.replicas) || "
            "(self.replicas >= self.minReplicas && self.replicas <= self.maxReplicas)",
            "replicas must lie between minReplicas and maxReplicas",
            lambda s: s.replicas is None or s.min_replicas <= s.replicas <= s.max_replicas,
        ),
        SERVED_NAME_IMMUTABLE,
        SCALE_TO_ZERO_NEEDS_MIN_ZERO,
        Cel(
            "!has(self.cache) || has(self.source.huggingFace)",
            "cache holds a Hugging Face snapshot: it needs source.huggingFace",
            lambda s: s.cache is None or s.source.hugging_face is not None,
        ),
    )

    source: ModelSource = Field(description="Where the base model's weights come from.")
    served_model_name: ServedName | None = Field(
        None,
        description=(
            "Name clients send as the OpenAI model field; defaults to metadata.name. "
            "Immutable once set."
        ),
    )
    quantization: Quantization = Field(
        "none",
        description=(
            "Weight quantization the checkpoint uses (vLLM --quantization): none, awq, gptq, "
            "fp8, compressed-tensors, bitsandbytes or gguf."
        ),
    )
    dtype: DType = Field(
        "auto",
        description=(
            "Activation and unquantized weight dtype (vLLM --dtype). auto follows the "
            "checkpoint; GPUs before compute capability 8.0 (T4) need float16."
        ),
    )
    kv_cache_dtype: KVCacheDType = Field(
        "auto",
        description=(
            "KV cache dtype (vLLM --kv-cache-dtype). fp8 halves KV memory; it needs "
            "compute capability 8.9 or later for speed."
        ),
    )
    max_model_len: int | None = Field(
        None,
        ge=128,
        le=1048576,
        description=(
            "Context length in tokens (vLLM --max-model-len); the planner proposes the "
            "longest that fits when unset."
        ),
    )
    max_num_seqs: int = Field(
        16,
        ge=1,
        le=4096,
        description=(
            "Sequences one replica runs at once (vLLM --max-num-seqs): the planned "
            "concurrency the KV cache is sized for."
        ),
    )
    tensor_parallel_size: TensorParallelSize | None = Field(
        None,
        description=(
            "GPUs to shard the model over (vLLM --tensor-parallel-size); defaults to the "
            "GPUClass's gpusPerReplica."
        ),
    )
    gpu_memory_utilization: float | None = Field(
        None,
        ge=0.1,
        le=0.99,
        description=(
            "Fraction of GPU memory vLLM may use (vLLM --gpu-memory-utilization); the "
            "planner suggests one when unset."
        ),
    )
    gpu_class_name: ObjectName = Field(description="Name of the GPUClass to run on.")
    replicas: int | None = Field(
        None,
        ge=0,
        description=(
            "Desired replicas, written by kubectl scale or an autoscaler through the scale "
            "subresource; minReplicas when unset."
        ),
    )
    min_replicas: int = Field(1, ge=0, description="Fewest replicas; 0 allows scale to zero.")
    max_replicas: int = Field(1, ge=1, description="Most replicas.")
    engine: EngineSpec = Field(
        default_factory=EngineSpec,
        description="vLLM image, extra flags, environment and CPU/memory.",
    )
    lora_adapters: UniqueAdapters = Field(
        default_factory=list,
        max_length=MAX_LORA_ADAPTERS,
        description="LoRA adapters served by the same replicas, each under its own name.",
    )
    max_lora_rank: LoraRank | None = Field(
        None,
        description="Largest adapter rank to reserve memory for (vLLM --max-lora-rank).",
    )
    rollout: RolloutSpec = Field(
        default_factory=RolloutSpec, description="How changes reach the replicas."
    )
    paused: bool = Field(
        False,
        description=(
            "Hold rollouts (a changed spec is not rolled out, a canary stays at its step) and "
            "the operator's autoscaler; running replicas keep serving."
        ),
    )
    autoscaling: AutoscalingSpec | None = Field(
        None,
        description=(
            "Scale replicas between minReplicas and maxReplicas on vLLM queue depth, KV-cache "
            "use or router in-flight requests; off unless enabled."
        ),
    )
    cache: WeightCacheSpec | None = Field(
        None,
        description=(
            "Keep the weights on a shared volume filled once per repo and revision (or mount "
            "them from an OCI image): replicas and canaries start without downloading them."
        ),
    )


class SmallModel(ApiModel):
    """A small language model served by vLLM on a GPUClass."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["SmallModel"] = "SmallModel"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SmallModelSpec
    status: SmallModelStatus = Field(default_factory=SmallModelStatus)

    @property
    def served_model_name(self) -> str:
        """The name clients request: spec.servedModelName, else metadata.name."""
        return self.spec.served_model_name or self.metadata.name


SMALLMODEL_KIND = KindInfo(
    kind="SmallModel",
    plural="smallmodels",
    scope="Namespaced",
    spec_model=SmallModelSpec,
    status_model=SmallModelStatus,
    description=(
        "SmallModel serves one small language model with vLLM on a GPUClass: a pinned "
        "source, quantization and dtypes, context length and concurrency, LoRA adapters, "
        "replicas and how changes roll out."
    ),
    short_names=("sm",),
    printer_columns=(
        PrinterColumn("READY", "integer", ".status.readyReplicas", "Replicas serving"),
        PrinterColumn("REPLICAS", "integer", ".status.replicas", "Replicas that exist"),
        PrinterColumn("GPU CLASS", "string", ".spec.gpuClassName"),
        PrinterColumn("FITS", "boolean", ".status.plan.fits", "Fits the GPU memory"),
        PrinterColumn("PHASE", "string", ".status.phase"),
        PrinterColumn(
            "$/1M TOK", "number", ".status.cost.window.costPer1MTokens", "Cost per 1M tokens"
        ),
        PrinterColumn("CACHE", "string", ".status.cache.progress", "Weight cache download"),
        AGE_COLUMN,
        PrinterColumn("SERVED NAME", "string", ".status.servedModelName", priority=1),
        PrinterColumn("QUANTIZATION", "string", ".spec.quantization", priority=1),
    ),
    scale=ScaleSubresource(".spec.replicas", ".status.replicas", ".status.selector"),
)
