"""How many tokens per second one replica could decode: a memory-bandwidth roofline (pure).

Decoding is bound by memory bandwidth: each step reads the weights once (each GPU its shard) and
yields one token per running sequence. With the plan's concurrency (maxNumSeqs, or fewer when the
KV cache holds fewer sequences) a replica decodes at most

    sequences x bandwidth / (weight bytes / tensor-parallel size)   tokens per second.

It ignores KV cache reads and prefill, so it is an upper bound: utilization against it is a floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GIB = 1024**3

# Memory bandwidth in GB/s (datasheets) by nvidia.com/gpu.product.
BANDWIDTH_GB_S: dict[str, float] = {
    "Tesla-T4": 320,
    "NVIDIA-A10G": 600,
    "NVIDIA-L4": 300,
    "NVIDIA-L40S": 864,
    "NVIDIA-A100-SXM4-40GB": 1555,
    "NVIDIA-A100-SXM4-80GB": 2039,
    "NVIDIA-A100-PCIE-40GB": 1555,
    "NVIDIA-A100-80GB-PCIe": 1935,
    "NVIDIA-H100-80GB-HBM3": 3350,
    "NVIDIA-H100-PCIe": 2000,
    "NVIDIA-H200": 4800,
}


def replica_capacity(
    product: str | None, resource_name: str, plan: Mapping[str, Any] | None
) -> float | None:
    """Decode tokens/s one replica could reach; None when the GPU's bandwidth is not known (a
    MIG slice gets an unknown share of it) or the plan lacks the numbers."""
    bandwidth = BANDWIDTH_GB_S.get(product or "")
    plan = plan or {}
    weights_gib = plan.get("weightsGiB")
    sequences = [
        int(n)
        for n in (plan.get("maxNumSeqs"), plan.get("maxConcurrentSequences"))
        if isinstance(n, int) and n > 0
    ]
    if bandwidth is None or "mig-" in resource_name or not weights_gib or not sequences:
        return None
    shards = plan.get("tensorParallelSize")
    per_gpu = float(weights_gib) / (int(shards) if isinstance(shards, int) and shards > 0 else 1)
    step_seconds = per_gpu * GIB / (bandwidth * 1e9)
    return min(sequences) / step_seconds
