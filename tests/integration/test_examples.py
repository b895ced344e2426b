"""Every SmallModel example runs: scheduled on a node of its GPU class, Ready, answering; and
`kubectl slm plan` prints its plan from the cluster."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.cli import kubectl_slm
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

EXAMPLES = repo_root() / "manifests" / "examples"
MODELS = sorted(EXAMPLES.glob("smallmodel-*.yaml"))


def ready(k8s: Kube, name: str, namespace: str) -> dict[str, Any] | None:
    obj = k8s.get("SmallModel", name, namespace) or {}
    for cond in (obj.get("status") or {}).get("conditions") or []:
        gen = obj["metadata"].get("generation")
        if (
            cond["type"] == "Ready"
            and cond["status"] == "True"
            and cond.get("observedGeneration") == gen
        ):
            return obj
    return None


def served(ip: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://{ip}:8000/v1/models", timeout=3) as resp:
            return sorted(m["id"] for m in json.loads(resp.read())["data"])
    except OSError:
        return []


def claims_of(spec: dict[str, Any]) -> set[str]:
    sources = [spec["source"], *(a["source"] for a in spec.get("loraAdapters", []))]
    return {s["pvc"]["claimName"] for s in sources if "pvc" in s}


def provide_claim(k8s: Kube, claim: str, namespace: str) -> None:
    """A PersistentVolume pre-bound to the claim, as an admin would provision adapters."""
    volume = f"{namespace}-{claim}"
    k8s.apply({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadOnlyMany"],
            "hostPath": {"path": f"/srv/{volume}"}, "storageClassName": "",
            "claimRef": {"namespace": namespace, "name": claim},
        },
    })  # fmt: skip
    k8s.apply({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": volume,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    })  # fmt: skip


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_example_runs_on_its_gpu_class(
    path: Path, operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    body = yaml.safe_load(path.read_text())
    body["metadata"]["namespace"] = namespace
    name = body["metadata"]["name"]
    for claim in claims_of(body["spec"]):
        provide_claim(k8s, claim, namespace)
    k8s.apply(body)
    obj = poll(f"{path.name} Ready", lambda: ready(k8s, name, namespace), timeout=120)
    gpuclass = k8s.get("GPUClass", body["spec"]["gpuClassName"])
    assert gpuclass is not None
    product = gpuclass["spec"]["product"]
    pods = k8s.list("Pod", namespace, f"slmfleet.io/model={name}")
    assert pods
    for pod in pods:
        node = k8s.get("Node", pod["spec"]["nodeName"])
        assert node is not None
        assert node["metadata"]["labels"]["nvidia.com/gpu.product"] == product
        names = poll("the engine answering", lambda p=pod: served(p["status"]["podIP"]))
        assert obj["status"]["servedModelName"] in names
        adapters = [a["name"] for a in body["spec"].get("loraAdapters", [])]
        assert set(adapters) <= set(names), "LoRA adapters are served under their names"


def test_kubectl_slm_plan_reads_the_cluster(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    cluster: DevCluster,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"]["namespace"] = namespace
    k8s.apply(body)
    argv = ["--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "plan", "qwen2.5-3b"]
    assert kubectl_slm.main(argv) == 0
    out = capsys.readouterr().out
    assert "FITS: Fits on l4" in out
    assert "a100-80gb" in out  # the fit on every GPUClass in the cluster
    assert kubectl_slm.main([*argv[:-1], "missing"]) == 2
