"""GPUClass: defaults, resource names, MIG slices, node selectors and immutability."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api import GPUClass, SpecError, check_gpuclass_update, parse_gpuclass

pytestmark = pytest.mark.unit


def body(**spec: Any) -> dict[str, Any]:
    base = {"product": "NVIDIA-L4", "memoryGiB": 22.5, "computeCapability": "8.9"}
    return {"kind": "GPUClass", "metadata": {"name": "l4"}, "spec": {**base, **spec}}


def test_defaults_and_aliases() -> None:
    gpu = parse_gpuclass(body(pricePerGPUHour=0.71))
    assert (gpu.spec.resource_name, gpu.spec.gpus_per_replica) == ("nvidia.com/gpu", 1)
    assert (gpu.spec.memory_gib, gpu.spec.price_per_gpu_hour) == (22.5, 0.71)
    out = gpu.spec.to_body()
    assert (out["memoryGiB"], out["pricePerGPUHour"], out["computeCapability"]) == (
        22.5,
        0.71,
        "8.9",
    )


@pytest.mark.parametrize(
    ("resource", "gpus", "ok"),
    [
        ("nvidia.com/gpu", 8, True),
        ("nvidia.com/gpu.shared", 2, True),
        ("nvidia.com/mig-1g.10gb", 1, True),
        ("nvidia.com/mig-7g.80gb", 1, True),
        ("nvidia.com/mig-3g.40gb", 2, False),  # slices cannot be tensor-parallel ranks
        ("nvidia.com/mig-8g.80gb", 1, False),  # there is no 8g profile
        ("nvidia.com/gpus", 1, False),
        ("amd.com/gpu", 1, False),
    ],
)
def test_resource_names(resource: str, gpus: int, ok: bool) -> None:
    spec = {"resourceName": resource, "gpusPerReplica": gpus}
    if ok:
        assert parse_gpuclass(body(**spec)).spec.resource_name == resource
    else:
        with pytest.raises(SpecError):
            parse_gpuclass(body(**spec))


@pytest.mark.parametrize(
    ("selector", "problem"),
    [
        ({"nvidia.com/gpu.product": "NVIDIA-L4"}, None),
        ({"cloud.google.com/gke-accelerator": "nvidia-l4"}, None),
        ({"karpenter.k8s.aws/instance-gpu-name": "l4"}, None),
        ({"pool": ""}, None),
        ({"gpu type": "l4"}, "not a valid label key"),
        ({"-pool": "l4"}, "not a valid label key"),
        ({"pool": "l4 24gb"}, "not a valid label value"),
        ({"pool": "x" * 64}, "not a valid label value"),
    ],
)
def test_node_selector_labels(selector: dict[str, str], problem: str | None) -> None:
    if problem is None:
        assert parse_gpuclass(body(nodeSelector=selector)).spec.node_selector == selector
    else:
        with pytest.raises(SpecError, match=problem):
            parse_gpuclass(body(nodeSelector=selector))


@pytest.mark.parametrize(
    ("toleration", "ok"),
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "gpu", "value": "yes", "effect": "NoExecute", "tolerationSeconds": 30}, True),
        ({"key": "gpu", "operator": "Exists", "value": "yes"}, False),
        ({"value": "yes"}, False),
        ({"key": "gpu", "effect": "NoSchedule", "tolerationSeconds": 30}, False),
    ],
)
def test_tolerations(toleration: dict[str, Any], ok: bool) -> None:
    if ok:
        assert len(parse_gpuclass(body(tolerations=[toleration])).spec.tolerations) == 1
    else:
        with pytest.raises(SpecError):
            parse_gpuclass(body(tolerations=[toleration]))


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({"memoryGiB": 23.0}, True),
        ({"pricePerGPUHour": 0.5}, True),
        ({"product": "NVIDIA-L4"}, True),
        ({"product": "NVIDIA-L40S"}, False),
    ],
)
def test_product_is_immutable(change: dict[str, Any], ok: bool) -> None:
    old: GPUClass = parse_gpuclass(body())
    new: GPUClass = parse_gpuclass(body(**change))
    if ok:
        check_gpuclass_update(old, new)
    else:
        with pytest.raises(SpecError, match="product is immutable"):
            check_gpuclass_update(old, new)
