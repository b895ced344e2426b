"""Every seed model on every GPU class at 2k/8k/32k context, unquantized, awq and fp8.

The expected verdict comes from a hand calculation written below from the reference table
(layers, KV heads, head_dim, vocab, hidden size and parameter counts), not from the planner:
a plan fits when no compatibility rule blocks it and one max_model_len sequence fits in
total x 0.95 - weights - overhead (the planner raises utilization to at most 0.95).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from slmfleet.planner import GPUSpec, ServingRequest, catalog_facts, plan_memory

pytestmark = pytest.mark.unit

GIB = 1 << 30
GPUS = [
    GPUSpec("t4", "Tesla-T4", 16, "7.5"),
    GPUSpec("a10g", "NVIDIA-A10G", 24, "8.6"),
    GPUSpec("l4", "NVIDIA-L4", 24, "8.9"),
    GPUSpec("l40s", "NVIDIA-L40S", 48, "8.9"),
    GPUSpec("a100-40", "NVIDIA-A100-SXM4-40GB", 40, "8.0"),
    GPUSpec("a100-80", "NVIDIA-A100-SXM4-80GB", 80, "8.0"),
    GPUSpec("h100-80", "NVIDIA-H100-80GB-HBM3", 80, "9.0"),
    GPUSpec("mig-1g.10gb", "NVIDIA-A100-MIG-1g.10gb", 10, "8.0"),
]
CONTEXTS = [2048, 8192, 32768]
QUANTIZATIONS = ["none", "awq", "fp8"]


def _layers(n: int, hidden: int, *, q: int, kv: int, inter: int, norms: int) -> int:
    """n decoder layers: q/k/v/o projections, gated MLP, norms (all counted by hand)."""
    return n * (hidden * q + 2 * hidden * kv + q * hidden + 3 * hidden * inter + norms)


@dataclass(frozen=True)
class Seed:
    shape: tuple[int, int, int, int, int]  # layers, KV heads, head_dim, vocab, hidden size
    tied: bool
    params: int
    window: int = 0
    global_layers: int = 0
    vision: int = 0
    fp16_unstable: bool = False
    fp8_checkpoint: bool = False


# SigLIP tower: 27 x (4 x 1152^2 + 2 x 1152 x 4304) + patch 3 x 14^2 x 1152 + 1152 x 2560.
GEMMA_VISION = 27 * (4 * 1152**2 + 2 * 1152 * 4304) + 3 * 14 * 14 * 1152 + 1152 * 2560
# Pixtral-style gated tower: 24 x (4 x 1024^2 + 3 x 1024 x 4096) + 3 x 14^2 x 1024 + 1024 x 3072.
MINISTRAL_VISION = 24 * (4 * 1024**2 + 3 * 1024 * 4096) + 3 * 14 * 14 * 1024 + 1024 * 3072

SEEDS = {
    "Qwen/Qwen2.5-3B-Instruct": Seed(
        (36, 2, 128, 151936, 2048),
        tied=True,
        params=3_085_938_688,
    ),
    "meta-llama/Llama-3.2-3B-Instruct": Seed(
        (28, 8, 128, 128256, 3072),
        tied=True,
        params=128256 * 3072
        + _layers(28, 3072, q=3072, kv=1024, inter=8192, norms=2 * 3072)
        + 3072,
    ),
    "microsoft/Phi-4-mini-instruct": Seed(
        (32, 8, 128, 200064, 3072),
        tied=True,
        params=200064 * 3072
        + _layers(32, 3072, q=3072, kv=1024, inter=8192, norms=2 * 3072)
        + 3072,
    ),
    "HuggingFaceTB/SmolLM3-3B": Seed(
        (36, 4, 128, 128256, 2048),
        tied=True,
        params=128256 * 2048
        + _layers(36, 2048, q=2048, kv=512, inter=11008, norms=2 * 2048)
        + 2048,
    ),
    "Qwen/Qwen3-0.6B": Seed(
        (28, 8, 128, 151936, 1024),
        tied=True,
        params=151936 * 1024
        + _layers(28, 1024, q=2048, kv=1024, inter=3072, norms=2 * 1024 + 256)
        + 1024,
    ),
    "Qwen/Qwen3-1.7B": Seed(
        (28, 8, 128, 151936, 2048),
        tied=True,
        params=151936 * 2048
        + _layers(28, 2048, q=2048, kv=1024, inter=6144, norms=2 * 2048 + 256)
        + 2048,
    ),
    "Qwen/Qwen3-4B": Seed(
        (36, 8, 128, 151936, 2560),
        tied=True,
        params=151936 * 2560
        + _layers(36, 2560, q=4096, kv=1024, inter=9728, norms=2 * 2560 + 256)
        + 2560,
    ),
    "google/gemma-3-4b-it": Seed(
        (34, 4, 256, 262208, 2560),
        tied=True,
        params=262208 * 2560
        + _layers(34, 2560, q=2048, kv=1024, inter=10240, norms=4 * 2560 + 512)
        + 2560
        + GEMMA_VISION,
        window=1024,
        global_layers=5,
        vision=GEMMA_VISION,
        fp16_unstable=True,
    ),
    "mistralai/Ministral-3-3B-Instruct-2512": Seed(
        (26, 8, 128, 131072, 3072),
        tied=True,
        params=131072 * 3072
        + _layers(26, 3072, q=4096, kv=1024, inter=9216, norms=2 * 3072)
        + 3072
        + MINISTRAL_VISION,
        vision=MINISTRAL_VISION,
        fp8_checkpoint=True,
    ),
    "mistralai/Mistral-7B-Instruct-v0.3": Seed(
        (32, 8, 128, 32768, 4096),
        tied=False,
        params=2 * 32768 * 4096
        + _layers(32, 4096, q=4096, kv=1024, inter=14336, norms=2 * 4096)
        + 4096,
    ),
}


def _capability(gpu: GPUSpec) -> float:
    return float(gpu.compute_capability)


def hand_verdict(seed: Seed, gpu: GPUSpec, context: int, quantization: str) -> bool:
    layers, kv_heads, head_dim, vocab, hidden = seed.shape
    cc = _capability(gpu)
    # bf16 from cc 8.0; below it float16, or float32 for gemma3 (unstable in float16)
    dtype_bytes = 4 if cc < 8.0 and seed.fp16_unstable else 2
    method = "fp8" if seed.fp8_checkpoint else quantization
    if seed.fp8_checkpoint and quantization == "awq":
        return False  # an fp8 checkpoint cannot be served as awq
    if method == "fp8" and cc < 8.0:
        return False
    if method == "awq" and dtype_bytes == 4:
        return False
    kept = vocab * hidden * (1 if seed.tied else 2) + seed.vision
    if method == "none":
        weights = seed.params * dtype_bytes
    elif method == "awq":
        weights = kept * dtype_bytes + math.ceil((seed.params - kept) * 55 / 100)
    else:
        weights = kept * dtype_bytes + (seed.params - kept)
    per_layer_token = 2 * kv_heads * head_dim * dtype_bytes
    if seed.window:
        local = layers - seed.global_layers
        raw = per_layer_token * (seed.global_layers * context + local * min(context, seed.window))
    else:
        raw = per_layer_token * layers * context
    per_sequence = -(-raw * 115 // 100)
    total = round(gpu.memory_gib * GIB)
    overhead = max(GIB, math.ceil(total * 2 / 100)) + 16 * vocab * 40
    budget = total * 95 // 100 - weights - overhead
    return 0 < per_sequence <= budget


CASES = [
    pytest.param(
        repo,
        gpu,
        context,
        quantization,
        id=f"{repo.split('/')[1]}-{gpu.name}-{context}-{quantization}",
    )
    for repo in SEEDS
    for gpu in GPUS
    for context in CONTEXTS
    for quantization in QUANTIZATIONS
]


@pytest.mark.parametrize(("repo", "gpu", "context", "quantization"), CASES)
def test_fit_matrix(repo: str, gpu: GPUSpec, context: int, quantization: str) -> None:
    facts = catalog_facts(repo)
    assert facts is not None
    assert facts.param_count == SEEDS[repo].params
    request = ServingRequest(quantization=quantization, max_model_len=context)  # type: ignore[arg-type]
    plan = plan_memory(facts, request, gpu)
    assert plan.fits == hand_verdict(SEEDS[repo], gpu, context, quantization), plan.reason


@pytest.mark.parametrize(
    ("repo", "quantization", "expected_row"),
    [
        # GPUs in order: t4 a10g l4 l40s a100-40 a100-80 h100-80 mig  (at 8192 tokens)
        ("Qwen/Qwen3-0.6B", "none", "yyyyyyyy"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "none", "nyyyyyyn"),  # 14.5 GB of bf16 weights
        ("mistralai/Mistral-7B-Instruct-v0.3", "awq", "yyyyyyyy"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "fp8", "nyyyyyyy"),  # no fp8 below cc 8.0
        ("google/gemma-3-4b-it", "none", "nyyyyyyy"),  # float32 on T4: 17.2 GB of weights
        ("mistralai/Ministral-3-3B-Instruct-2512", "none", "nyyyyyyy"),  # fp8 checkpoint
        ("mistralai/Ministral-3-3B-Instruct-2512", "awq", "nnnnnnnn"),
    ],
)
def test_known_rows(repo: str, quantization: str, expected_row: str) -> None:
    facts = catalog_facts(repo)
    assert facts is not None
    request = ServingRequest(quantization=quantization, max_model_len=8192)  # type: ignore[arg-type]
    row = "".join("y" if plan_memory(facts, request, gpu).fits else "n" for gpu in GPUS)
    assert row == expected_row
