"""kopf smoke test: the operator, run by KopfRunner against the real cluster, handles a create."""

from __future__ import annotations

import pytest
from kopf.testing import KopfRunner

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration


def test_operator_handles_a_create_and_patches_status(
    k8s: Kube, crds: list[str], operator_process: OperatorProcess
) -> None:
    """kopf's own test runner runs slmfleet.main in this process, as the only operator (the
    session's operator process is paused meanwhile); its log proves that it handled the object."""
    operator_process.stop()
    try:
        run_smoke(k8s)
    finally:
        operator_process.start()


def run_smoke(k8s: Kube) -> None:
    name = "smoke-a100"
    args = ["run", "--standalone", "--all-namespaces", "--verbose", "-m", "slmfleet.main"]
    with KopfRunner(args, reraise=True, timeout=60) as runner:
        k8s.apply(
            {
                "apiVersion": "slmfleet.io/v1alpha1",
                "kind": "GPUClass",
                "metadata": {"name": name},
                "spec": {
                    "product": "NVIDIA-A100-SXM4-80GB",
                    "memoryGiB": 80,
                    "computeCapability": "8.0",
                    "gpusPerReplica": 2,
                    "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
                },
            }
        )
        try:
            status = poll(
                "GPUClass status",
                lambda: (
                    ((k8s.get("GPUClass", name) or {}).get("status") or {}).get(
                        "observedGeneration"
                    )
                    and k8s.get("GPUClass", name)["status"]
                ),  # type: ignore[index]
            )
            assert status["matchingNodes"] == 1
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            assert (ready["status"], ready["reason"]) == ("True", "Available")
        finally:
            k8s.delete("GPUClass", name)
    assert runner.exit_code == 0
    handled = [
        line for line in runner.output.splitlines() if "Handler 'on_event' succeeded" in line
    ]
    assert any(name in line for line in handled), handled


def test_crd_is_established_and_schema_violations_are_rejected(k8s: Kube, crds: list[str]) -> None:
    from kubernetes.client.exceptions import ApiException

    crd = k8s.get("CustomResourceDefinition", "smallmodels.slmfleet.io")
    assert crd is not None
    assert any(
        c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"]
    )
    with pytest.raises(ApiException) as err:
        k8s.create(
            {
                "apiVersion": "slmfleet.io/v1alpha1",
                "kind": "GPUClass",
                "metadata": {"name": "smoke-bad"},
                "spec": {"product": "NVIDIA-L4", "memoryGiB": -1, "computeCapability": "8.9"},
            }
        )
    assert err.value.status == 422
    assert "spec.memoryGiB" in str(err.value.body)
