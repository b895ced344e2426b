"""GPU classes and catalog models shared by the planner's unit tests (prices per GPU-hour)."""

from __future__ import annotations

from pathlib import Path

import yaml

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.parse import parse_gpuclass
from slmfleet.planner import GPUSpec, ModelFacts, catalog_facts

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"

GIB = 1 << 30
V100 = GPUSpec("v100", "Tesla-V100", 32, "7.0")
T4 = GPUSpec("t4", "Tesla-T4", 16, "7.5", price_per_gpu_hour=0.35)
A10G = GPUSpec("a10g", "NVIDIA-A10G", 24, "8.6", price_per_gpu_hour=1.01)
L4 = GPUSpec("l4", "NVIDIA-L4", 24, "8.9", price_per_gpu_hour=0.80)
L40S = GPUSpec("l40s", "NVIDIA-L40S", 48, "8.9", price_per_gpu_hour=1.86)
H100 = GPUSpec("h100", "NVIDIA-H100-80GB-HBM3", 80, "9.0", price_per_gpu_hour=4.0)
MIG = GPUSpec("mig-1g.10gb", "NVIDIA-A100-MIG-1g.10gb", 10, "8.0")


def facts(repo: str) -> ModelFacts:
    found = catalog_facts(repo)
    assert found is not None, repo
    return found


QWEN25 = facts("Qwen/Qwen2.5-3B-Instruct")
QWEN3_06B = facts("Qwen/Qwen3-0.6B")
MISTRAL7B = facts("mistralai/Mistral-7B-Instruct-v0.3")


def example_gpuclasses() -> dict[str, GPUClassSpec]:
    """The GPUClasses of manifests/examples/gpuclasses.yaml, by name."""
    docs = yaml.safe_load_all((EXAMPLES / "gpuclasses.yaml").read_text())
    return {d["metadata"]["name"]: parse_gpuclass(d).spec for d in docs if d}
