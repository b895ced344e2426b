"""Fake GPU nodes for kwok: a small spec in, a Node manifest out (pure).

Each node gets its own pod CIDR inside 127.0.0.0/8, so kwok gives its pods loopback addresses that
the pod backer can listen on: what the cluster reports as a pod IP really answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
GPU_COUNT_LABEL = "nvidia.com/gpu.count"


@dataclass(frozen=True)
class FakeGPUNode:
    """One kwok node: its GPU product (GFD label value), GPU count and per-GPU memory in MiB."""

    name: str
    product: str
    gpus: int = 1
    gpu_memory_mib: int = 24576
    resource: str = "nvidia.com/gpu"
    cpu: str = "16"
    memory: str = "64Gi"
    labels: dict[str, str] = field(default_factory=dict)


def pod_cidr(index: int, block: int = 0) -> str:
    """The loopback /24 that node number ``index`` hands out pod IPs from. ``block`` (0..255)
    keeps clusters that run side by side on one machine apart."""
    if not 0 <= index < 200:
        raise ValueError(f"node index {index} is outside 0..199")
    if not 0 <= block < 256:
        raise ValueError(f"block {block} is outside 0..255")
    return f"127.{20 + index}.{block}.0/24"


def node_manifest(node: FakeGPUNode, index: int, block: int = 0) -> dict[str, Any]:
    """The Node object kwok will manage for ``node``."""
    capacity = {
        "cpu": node.cpu,
        "memory": node.memory,
        "pods": "110",
        # Engine and router pods request ephemeral-storage (their emptyDirs' size limits).
        "ephemeral-storage": "2Ti",
        node.resource: str(node.gpus),
    }
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        GPU_PRODUCT_LABEL: node.product,
        GPU_MEMORY_LABEL: str(node.gpu_memory_mib),
        GPU_COUNT_LABEL: str(node.gpus),
        **node.labels,
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": pod_cidr(index, block), "podCIDRs": [pod_cidr(index, block)]},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


DEMO_NODES: Sequence[FakeGPUNode] = (
    FakeGPUNode("gpu-t4-0", "Tesla-T4", gpus=4, gpu_memory_mib=15360),
    FakeGPUNode("gpu-l4-0", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-a100-0", "NVIDIA-A100-SXM4-80GB", gpus=8, gpu_memory_mib=81920),
)
