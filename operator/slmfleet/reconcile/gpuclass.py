"""GPUClass status, decided purely: which nodes offer it, and whether that is worth a warning."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.quantity import parse_quantity
from slmfleet.conditions import Verdict


def _tolerated(taint: Mapping[str, Any], spec: GPUClassSpec) -> bool:
    if taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return True
    if taint.get("key") == "nvidia.com/gpu":
        return True  # every engine pod tolerates the usual GPU taint
    for tol in spec.tolerations:
        if (
            tol.key in (None, taint.get("key"))
            and (tol.operator == "Exists" or tol.value == taint.get("value"))
            and tol.effect in (None, taint.get("effect"))
        ):
            return True
    return False


def matching_nodes(spec: GPUClassSpec, nodes: Iterable[Mapping[str, Any]]) -> int:
    """Nodes whose labels match the nodeSelector, whose taints are tolerated, and that offer the
    resource with enough devices for one replica."""
    count = 0
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in spec.node_selector.items()):
            continue
        taints = (node.get("spec") or {}).get("taints") or []
        if not all(_tolerated(t, spec) for t in taints):
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        have = allocatable.get(spec.resource_name)
        if have is not None and parse_quantity(str(have)) >= spec.gpus_per_replica:
            count += 1
    return count


def gpuclass_verdict(spec: GPUClassSpec | None, nodes: int, error: str | None) -> Verdict:
    if spec is None:
        return Verdict(False, "InvalidSpec", error or "invalid spec", stalled=True)
    if nodes == 0:
        return Verdict(
            True,
            "NoMatchingNodes",
            f"no node matches nodeSelector {spec.node_selector} with {spec.gpus_per_replica} "
            f"allocatable {spec.resource_name}; models on this class stay Pending until one joins",
        )
    return Verdict(True, "Available", f"{nodes} node(s) offer {spec.resource_name}")
