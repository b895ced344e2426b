"""The example manifests parse, reference each other, and say what the docs promise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api import (
    GPUClass,
    ModelRoute,
    SmallModel,
    parse_gpuclass,
    parse_modelroute,
    parse_smallmodel,
)

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).parents[2] / "manifests" / "examples"
DOCS = [
    (path, doc)
    for path in sorted(EXAMPLES.glob("*.yaml"))
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
    if doc
]
GPUCLASSES: dict[str, GPUClass] = {
    d["metadata"]["name"]: parse_gpuclass(d) for _, d in DOCS if d["kind"] == "GPUClass"
}
MODELS: dict[str, SmallModel] = {
    d["metadata"]["name"]: parse_smallmodel(d) for _, d in DOCS if d["kind"] == "SmallModel"
}
GFD_LABEL = "nvidia.com/gpu.product"


ROUTES: dict[str, ModelRoute] = {
    d["metadata"]["name"]: parse_modelroute(d) for _, d in DOCS if d["kind"] == "ModelRoute"
}


def test_every_document_is_a_known_kind() -> None:
    assert {d["kind"] for _, d in DOCS} == {"GPUClass", "SmallModel", "ModelRoute"}
    assert len(GPUCLASSES) + len(MODELS) + len(ROUTES) == len(DOCS)


def test_routes_name_example_models() -> None:
    for route in ROUTES.values():
        for backend in route.spec.backends:
            if backend.small_model_ref is not None:
                assert backend.small_model_ref.name in MODELS, route.metadata.name


@pytest.mark.parametrize(
    ("product", "gib", "capability", "resource"),
    [
        ("Tesla-T4", 15, "7.5", "nvidia.com/gpu"),
        ("NVIDIA-A10G", 22.5, "8.6", "nvidia.com/gpu"),
        ("NVIDIA-L4", 22.5, "8.9", "nvidia.com/gpu"),
        ("NVIDIA-L40S", 45, "8.9", "nvidia.com/gpu"),
        ("NVIDIA-A100-SXM4-40GB", 40, "8.0", "nvidia.com/gpu"),
        ("NVIDIA-A100-SXM4-80GB", 80, "8.0", "nvidia.com/gpu"),
        ("NVIDIA-H100-80GB-HBM3", 79.6, "9.0", "nvidia.com/gpu"),
        ("NVIDIA-A100-SXM4-80GB", 9.5, "8.0", "nvidia.com/mig-1g.10gb"),
    ],
)
def test_gpu_classes_cover_the_common_gpus(
    product: str, gib: float, capability: str, resource: str
) -> None:
    matches = [
        g.spec
        for g in GPUCLASSES.values()
        if (g.spec.product, g.spec.resource_name) == (product, resource)
    ]
    assert len(matches) == 1
    spec = matches[0]
    assert (spec.memory_gib, spec.compute_capability) == (gib, capability)
    assert spec.node_selector[GFD_LABEL] == product


def test_mig_slice_costs_about_a_seventh_of_its_gpu() -> None:
    prices = {
        g.spec.resource_name: g.spec.price_per_gpu_hour
        for g in GPUCLASSES.values()
        if g.spec.product == "NVIDIA-A100-SXM4-80GB"
    }
    whole, slice_ = prices["nvidia.com/gpu"], prices["nvidia.com/mig-1g.10gb"]
    assert whole is not None and slice_ is not None
    assert abs(slice_ - whole / 7) < 0.01


@pytest.mark.parametrize(
    ("name", "repo_part", "gpu_class", "quantization", "dtype"),
    [
        ("qwen2.5-3b", "Qwen2.5-3B", "l4", "none", "auto"),
        ("qwen2.5-3b-awq", "Qwen2.5-3B", "t4", "awq", "float16"),
        ("qwen3-0.6b", "Qwen3-0.6B", "t4", "none", "float16"),
        ("phi-4-mini", "Phi-4-mini", "l4", "fp8", "auto"),
    ],
)
def test_small_models(
    name: str, repo_part: str, gpu_class: str, quantization: str, dtype: str
) -> None:
    spec = MODELS[name].spec
    assert spec.source.hugging_face is not None
    assert repo_part in spec.source.hugging_face.repo
    assert (spec.gpu_class_name, spec.quantization, spec.dtype) == (
        gpu_class,
        quantization,
        dtype,
    )


def test_one_model_serves_lora_adapters() -> None:
    with_adapters = [m for m in MODELS.values() if m.spec.lora_adapters]
    assert len(with_adapters) >= 1
    for model in with_adapters:
        names = [a.name for a in model.spec.lora_adapters]
        assert len(set(names)) == len(names)
        assert model.served_model_name not in names


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_fit_their_gpu_class_capabilities(name: str) -> None:
    spec = MODELS[name].spec
    gpu = GPUCLASSES[spec.gpu_class_name].spec
    major, minor = (int(p) for p in gpu.compute_capability.split("."))
    if (major, minor) < (8, 0):  # no bfloat16 before Ampere: auto would pick it
        assert spec.dtype == "float16"
    if spec.quantization == "fp8" or spec.kv_cache_dtype.startswith("fp8"):
        assert (major, minor) >= (8, 9)


def _revision_lines(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(lines[i - 1], line) for i, line in enumerate(lines) if "revision:" in line]


@pytest.mark.parametrize(
    "path", sorted({p for p, d in DOCS if d["kind"] == "SmallModel"}), ids=lambda p: p.name
)
def test_revisions_are_pinned_shas_marked_as_placeholders(path: Path) -> None:
    found = _revision_lines(path)
    assert found
    for before, line in found:
        assert re.fullmatch(r"\s*revision: [0-9a-f]{40}", line), line
        assert "placeholder" in before.lower() and "validated" in before


def _all_sources(model: SmallModel) -> list[Any]:
    return [model.spec.source, *(a.source for a in model.spec.lora_adapters)]


def test_revisions_are_distinct() -> None:
    shas = [
        s.hugging_face.revision
        for m in MODELS.values()
        for s in _all_sources(m)
        if s.hugging_face is not None
    ]
    assert len(set(shas)) == len(shas)
