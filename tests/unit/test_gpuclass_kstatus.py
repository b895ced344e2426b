"""GPUClass verdicts as GitOps tools read them (kstatus): a class without nodes is still Current."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kstatus_rules import kstatus

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.parse import parse_gpuclass
from slmfleet.conditions import conditions_for
from slmfleet.reconcile.gpuclass import gpuclass_verdict

pytestmark = pytest.mark.unit

L4 = parse_gpuclass(
    {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "GPUClass",
        "metadata": {"name": "l4"},
        "spec": {
            "product": "NVIDIA-L4",
            "memoryGiB": 22.5,
            "computeCapability": "8.9",
            "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
        },
    }
).spec


@pytest.mark.parametrize(
    ("spec", "nodes", "reason", "verdict"),
    [
        (L4, 2, "Available", "Current"),
        (L4, 0, "NoMatchingNodes", "Current"),  # nodes may join later; its models say Pending
        (None, 0, "InvalidSpec", "Failed"),
    ],
)
def test_gpuclass_verdicts(
    spec: GPUClassSpec | None, nodes: int, reason: str, verdict: str
) -> None:
    got = gpuclass_verdict(spec, nodes, "memoryGiB: must be > 0")
    assert got.reason == reason
    conditions, _ = conditions_for(got, [], generation=2, now=datetime(2026, 1, 1, tzinfo=UTC))
    obj = {
        "metadata": {"generation": 2},
        "status": {"observedGeneration": 2, "conditions": conditions},
    }
    assert kstatus(obj) == verdict
