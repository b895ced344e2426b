"""MemoryPlan: the planner's verdict for one model on one GPU class, and its status summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slmfleet.planner.request import GIB


def gib(value: int) -> float:
    """Bytes as GiB rounded to 2 places."""
    return round(value / GIB, 2)


@dataclass(frozen=True)
class MemoryPlan:
    """Whether a model fits a GPU class, the bytes behind the answer, and what to change if not.

    Byte totals cover the whole replica (all tensor-parallel ranks). kv_bytes_per_token is the
    reference 2 x L x H_kv x head_dim x dtype bytes; the per-sequence and requested figures honour
    sliding-window layers and include the 1.15 fragmentation factor. overhead_bytes is the CUDA
    context and graphs; activation_bytes the peak of vLLM's profiling run.
    """

    fits: bool
    reason: str
    gpu: str
    dtype: str
    kv_cache_dtype: str
    tensor_parallel_size: int
    weights_bytes: int
    kv_bytes_per_token: int
    kv_bytes_per_sequence: int
    kv_bytes_requested: int
    overhead_bytes: int
    total_bytes: int
    usable_bytes: int
    max_model_len: int
    max_context_that_fits: int
    max_concurrent_sequences: int
    gpu_memory_utilization: float
    warnings: tuple[str, ...] = ()
    quantization: str = "none"
    max_num_seqs: int = 16
    activation_bytes: int = 0
    max_num_batched_tokens: int = 2048
    pass_batched_tokens: bool = False
    """Whether the engine needs --max-num-batched-tokens (vLLM's default is below maxNumSeqs)."""

    @property
    def kv_budget_bytes(self) -> int:
        """What is left for the KV cache: usable minus weights, overhead and activations."""
        return self.usable_bytes - self.weights_bytes - self.overhead_bytes - self.activation_bytes

    def to_summary(self) -> dict[str, Any]:
        """camelCase summary for a custom resource status; sizes in GiB rounded to 2 places."""
        return {
            "fits": self.fits,
            "reason": self.reason,
            "gpu": self.gpu,
            "quantization": self.quantization,
            "dtype": self.dtype,
            "kvCacheDtype": self.kv_cache_dtype,
            "tensorParallelSize": self.tensor_parallel_size,
            "weightsGiB": gib(self.weights_bytes),
            "kvBytesPerToken": self.kv_bytes_per_token,
            "kvPerSequenceGiB": gib(self.kv_bytes_per_sequence),
            "kvRequestedGiB": gib(self.kv_bytes_requested),
            "overheadGiB": gib(self.overhead_bytes),
            "activationGiB": gib(self.activation_bytes),
            "maxNumBatchedTokens": self.max_num_batched_tokens,
            "totalGiB": gib(self.total_bytes),
            "usableGiB": gib(self.usable_bytes),
            "maxModelLen": self.max_model_len,
            "maxContextThatFits": self.max_context_that_fits,
            "maxNumSeqs": self.max_num_seqs,
            "maxConcurrentSequences": self.max_concurrent_sequences,
            "gpuMemoryUtilization": self.gpu_memory_utilization,
            "warnings": list(self.warnings),
        }
