"""The slmfleet API: pydantic models of GPUClass and SmallModel, the one source of the CRDs.

The models validate what users write exactly as the API server does (the CRDs are generated
from them by :mod:`slmfleet.api.crdgen`, CEL rules included) and add the checks only the
operator can make. Use :func:`parse_gpuclass` / :func:`parse_smallmodel` on a body.
"""

from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import (
    Condition,
    ConditionStatus,
    EnvVar,
    EnvVarSource,
    KeySelector,
    LocalObjectReference,
    ObjectMeta,
    ResourceList,
    ResourceRequirements,
    SecretKeyRef,
    Toleration,
)
from slmfleet.api.crdmeta import KindInfo, PrinterColumn, ScaleSubresource
from slmfleet.api.engine import OWNED_FLAGS, EngineSpec, owned_flag
from slmfleet.api.errors import SpecError
from slmfleet.api.gpuclass import (
    GPUCLASS_KIND,
    GPUClass,
    GPUClassSpec,
    GPUClassStatus,
    ModelReference,
)
from slmfleet.api.model_source import HuggingFaceSource, LoraAdapter, ModelSource, PVCSource
from slmfleet.api.modelroute import (
    MODELROUTE_KIND,
    ModelRoute,
    ModelRouteSpec,
    ModelRouteStatus,
    parse_modelroute,
)
from slmfleet.api.parse import (
    check_gpuclass_update,
    check_smallmodel_update,
    parse_gpuclass,
    parse_smallmodel,
)
from slmfleet.api.quantity import Quantity, parse_quantity
from slmfleet.api.smallmodel import (
    DTYPES,
    KV_CACHE_DTYPES,
    QUANTIZATIONS,
    SMALLMODEL_KIND,
    DType,
    KVCacheDType,
    LoraRank,
    Quantization,
    RolloutSpec,
    RolloutStrategy,
    SmallModel,
    SmallModelSpec,
    TensorParallelSize,
)
from slmfleet.api.smallmodel_status import PHASES, FitPlan, Phase, SmallModelStatus

__all__ = [
    "DTYPES",
    "GPUCLASS_KIND",
    "KV_CACHE_DTYPES",
    "MODELROUTE_KIND",
    "OWNED_FLAGS",
    "PHASES",
    "QUANTIZATIONS",
    "SMALLMODEL_KIND",
    "ApiModel",
    "Cel",
    "Condition",
    "ConditionStatus",
    "DType",
    "EngineSpec",
    "EnvVar",
    "EnvVarSource",
    "FitPlan",
    "GPUClass",
    "GPUClassSpec",
    "GPUClassStatus",
    "HuggingFaceSource",
    "KVCacheDType",
    "KeySelector",
    "KindInfo",
    "LocalObjectReference",
    "LoraAdapter",
    "LoraRank",
    "ModelReference",
    "ModelRoute",
    "ModelRouteSpec",
    "ModelRouteStatus",
    "ModelSource",
    "ObjectMeta",
    "PVCSource",
    "Phase",
    "PrinterColumn",
    "Quantity",
    "Quantization",
    "ResourceList",
    "ResourceRequirements",
    "RolloutSpec",
    "RolloutStrategy",
    "ScaleSubresource",
    "SecretKeyRef",
    "SmallModel",
    "SmallModelSpec",
    "SmallModelStatus",
    "SpecError",
    "SpecModel",
    "StatusModel",
    "TensorParallelSize",
    "Toleration",
    "check_gpuclass_update",
    "check_smallmodel_update",
    "owned_flag",
    "parse_gpuclass",
    "parse_modelroute",
    "parse_quantity",
    "parse_smallmodel",
]
