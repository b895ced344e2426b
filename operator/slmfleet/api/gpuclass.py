"""GPUClass: a cluster-scoped description of one kind of GPU (or MIG slice) that models run on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from slmfleet import API_VERSION
from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import CONDITIONS_LIST, Condition, ObjectMeta, Toleration
from slmfleet.api.crdmeta import AGE_COLUMN, KindInfo, PrinterColumn

LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
RESOURCE_NAME_PATTERN = r"^nvidia\.com/(gpu|gpu\.shared|mig-[1-7]g\.[0-9]+gb)$"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"

PRODUCT_IMMUTABLE = Cel("self == oldSelf", "product is immutable: create a new GPUClass instead")


class GPUClassSpec(SpecModel):
    """The GPU a replica gets, how to reach nodes that have it, and what it costs."""

    CEL_RULES = (
        Cel(
            f"!self.resourceName.startsWith('{MIG_RESOURCE_PREFIX}') || self.gpusPerReplica == 1",
            "gpusPerReplica must be 1 for a MIG slice: vLLM cannot shard one model across slices",
            lambda s: (
                not s.resource_name.startswith(MIG_RESOURCE_PREFIX) or s.gpus_per_replica == 1
            ),
        ),
    )

    product: Annotated[str, PRODUCT_IMMUTABLE] = Field(
        pattern=LABEL_VALUE_PATTERN,
        max_length=63,
        description=(
            "GPU product name as GPU feature discovery labels it (nvidia.com/gpu.product), "
            "for example NVIDIA-L4, Tesla-T4 or NVIDIA-A100-SXM4-80GB. The planner looks up "
            "architecture facts by it. Immutable."
        ),
    )
    memory_gib: float = Field(
        alias="memoryGiB",
        gt=0,
        le=1024,
        description=(
            "Memory of one GPU in GiB as the driver reports it (nvidia-smi total; for a MIG "
            "slice, the slice's memory). The fit planner budgets against this."
        ),
    )
    compute_capability: str = Field(
        pattern=r"^[0-9]+\.[0-9]$",
        description=(
            "CUDA compute capability, for example 7.5 (T4), 8.0 (A100), 8.6 (A10G), 8.9 (L4, "
            "L40S), 9.0 (H100). Decides bfloat16 and fp8 support. Quote it in YAML."
        ),
    )
    resource_name: str = Field(
        "nvidia.com/gpu",
        pattern=RESOURCE_NAME_PATTERN,
        description=(
            "Extended resource each replica requests: nvidia.com/gpu, nvidia.com/gpu.shared "
            "(time-slicing with renamed resources) or a MIG profile such as "
            "nvidia.com/mig-1g.10gb (mixed MIG strategy)."
        ),
    )
    gpus_per_replica: int = Field(
        1,
        ge=1,
        le=16,
        description=(
            "GPUs one replica requests; the tensor-parallel size of a SmallModel on this "
            "class may not exceed it."
        ),
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Node labels a node must carry to host this class, for example "
            "nvidia.com/gpu.product: NVIDIA-L4."
        ),
    )
    tolerations: list[Toleration] = Field(
        default_factory=list,
        max_length=32,
        description="Tolerations for taints on these GPU nodes, such as nvidia.com/gpu.",
    )
    price_per_gpu_hour: float | None = Field(
        None,
        alias="pricePerGPUHour",
        ge=0,
        description="Price of one GPU for one hour, in any currency; used for cost reports.",
    )


class ModelReference(StatusModel):
    """A SmallModel, by namespace and name."""

    namespace: str = Field(description="Namespace of the SmallModel.")
    name: str = Field(description="Name of the SmallModel.")


class GPUClassStatus(StatusModel):
    """What the operator observed about this class."""

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra=CONDITIONS_LIST,
        description="Latest observations; Ready says whether any node matches.",
    )
    observed_generation: int | None = Field(
        None, description="metadata.generation this status describes."
    )
    matching_nodes: int | None = Field(
        None, ge=0, description="Nodes that match nodeSelector and offer resourceName."
    )
    models: list[ModelReference] = Field(
        default_factory=list, description="SmallModels that use this class."
    )


class GPUClass(ApiModel):
    """A kind of GPU that SmallModels run on: product, memory, node selection and price."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["GPUClass"] = "GPUClass"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: GPUClassSpec
    status: GPUClassStatus = Field(default_factory=GPUClassStatus)


GPUCLASS_KIND = KindInfo(
    kind="GPUClass",
    plural="gpuclasses",
    scope="Cluster",
    spec_model=GPUClassSpec,
    status_model=GPUClassStatus,
    description=(
        "GPUClass describes one kind of GPU (or MIG slice) that SmallModels run on: the "
        "product, its memory and compute capability, how to select its nodes and its price."
    ),
    short_names=("gc",),
    printer_columns=(
        PrinterColumn("PRODUCT", "string", ".spec.product"),
        PrinterColumn("MEMORY", "number", ".spec.memoryGiB", "GPU memory in GiB"),
        PrinterColumn("GPUS", "integer", ".spec.gpusPerReplica", "GPUs per replica"),
        PrinterColumn("PRICE", "number", ".spec.pricePerGPUHour", "Price per GPU hour"),
        AGE_COLUMN,
        PrinterColumn("RESOURCE", "string", ".spec.resourceName", priority=1),
        PrinterColumn("NODES", "integer", ".status.matchingNodes", "Matching nodes", 1),
    ),
)
