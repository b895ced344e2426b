"""Planner inputs: the GPU class a replica runs on and how the model is to be served."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

Quantization = Literal["none", "awq", "gptq", "fp8", "compressed-tensors", "bitsandbytes", "gguf"]
ServingDType = Literal["auto", "float16", "bfloat16", "float32"]
KVCacheDType = Literal["auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"]

QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)
SERVING_DTYPES: tuple[str, ...] = get_args(ServingDType)
KV_CACHE_DTYPES: tuple[str, ...] = get_args(KVCacheDType)

GIB = 1 << 30
DEFAULT_MAX_NUM_SEQS = 16
_CAPABILITY = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(frozen=True)
class GPUSpec:
    """One GPU class: per-GPU memory, compute capability, GPUs per replica and price."""

    name: str
    product: str
    memory_gib: float
    compute_capability: str
    gpus_per_replica: int = 1
    price_per_gpu_hour: float | None = None

    def __post_init__(self) -> None:
        if not _CAPABILITY.match(self.compute_capability):
            raise ValueError(
                f"GPU class {self.name}: compute capability must look like '8.9', "
                f"got {self.compute_capability!r}"
            )
        if self.memory_gib <= 0:
            raise ValueError(f"GPU class {self.name}: memory_gib must be positive")
        if self.gpus_per_replica < 1:
            raise ValueError(f"GPU class {self.name}: gpus_per_replica must be at least 1")

    @property
    def capability(self) -> tuple[int, int]:
        """The compute capability as a comparable (major, minor) pair."""
        match = _CAPABILITY.match(self.compute_capability)
        assert match is not None  # checked in __post_init__
        return int(match.group(1)), int(match.group(2))

    @property
    def memory_bytes(self) -> int:
        """Memory of one GPU in bytes."""
        return round(self.memory_gib * GIB)


@dataclass(frozen=True)
class ServingRequest:
    """How a model is to be served; None fields are resolved by the planner."""

    quantization: Quantization = "none"
    dtype: ServingDType = "auto"
    kv_cache_dtype: KVCacheDType = "auto"
    max_model_len: int | None = None
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS
    tensor_parallel_size: int | None = None
    gpu_memory_utilization: float | None = None
    max_num_batched_tokens: int | None = None
    """Set in the engine's extra flags; None leaves vLLM's default (or the operator's raise)."""
    quantization_plugins: tuple[str, ...] = ()
    """Quantization plugins the engine image declares (bitsandbytes, gguf)."""

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
        if self.dtype not in SERVING_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(SERVING_DTYPES)}")
        if self.kv_cache_dtype not in KV_CACHE_DTYPES:
            raise ValueError(f"kv_cache_dtype must be one of {', '.join(KV_CACHE_DTYPES)}")
        if self.max_model_len is not None and self.max_model_len < 1:
            raise ValueError("max_model_len must be a positive number of tokens")
        if self.max_num_seqs < 1:
            raise ValueError("max_num_seqs must be at least 1")
        if self.tensor_parallel_size is not None and self.tensor_parallel_size < 1:
            raise ValueError("tensor_parallel_size must be at least 1")
        if self.max_num_batched_tokens is not None and self.max_num_batched_tokens < 1:
            raise ValueError("max_num_batched_tokens must be at least 1")
        utilization = self.gpu_memory_utilization
        if utilization is not None and not 0 < utilization <= 1:
            raise ValueError("gpu_memory_utilization must be in (0, 1]")
