"""Shared fixtures: one real local control plane per test session, a fresh namespace per test,
and slmfleet on it (CRDs, the example GPUClasses, the operator), for integration and e2e tests.

Integration and e2e tests never skip when the control plane cannot start: they fail, naming the
component that died and its last log lines.
"""

from __future__ import annotations

import os

# Nothing reaches the Hugging Face Hub here. huggingface_hub reads this when first imported, so it
# is set before anything imports it: model facts come from the offline catalog or test caches.
os.environ["HF_HUB_OFFLINE"] = "1"

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from slmfleet.config import settings
from slmfleet.devcluster import tools
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.hub import HubStandIn, stand_in
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.devcluster.nodes import FakeGPUNode
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.prometheus import operator_targets_path
from slmfleet.devcluster.tool_pins import GATEWAY_API
from slmfleet.k8s import Kube

REPO = Path(__file__).resolve().parents[1]

TEST_NODES = (
    FakeGPUNode("gpu-t4-0", "Tesla-T4", gpus=4, gpu_memory_mib=15360),
    FakeGPUNode("gpu-l4-0", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-l4-1", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-a100-0", "NVIDIA-A100-SXM4-80GB", gpus=8, gpu_memory_mib=81920),
    FakeGPUNode("gpu-a10g-0", "NVIDIA-A10G", gpus=1, gpu_memory_mib=23028),
)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session", autouse=True)
def _teardown_on_sigterm() -> None:
    """A run stopped with SIGTERM (a CI time-out) still runs every fixture's teardown."""
    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    dev = DevCluster(TEST_NODES, workdir=workdir).start()
    os.environ["KUBECONFIG"] = str(dev.kubeconfig)
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def kube(cluster: DevCluster) -> client.ApiClient:
    return cluster.api_client()


@pytest.fixture
def namespace(cluster: DevCluster, kube: client.ApiClient) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        cluster.check()
        core.delete_namespace(name)


EXAMPLES = repo_root() / "manifests" / "examples"


@pytest.fixture(scope="session")
def k8s(kube: client.ApiClient) -> Kube:
    return Kube(kube)


@pytest.fixture(scope="session")
def crds(k8s: Kube) -> list[str]:
    return apply_crds(k8s)


@pytest.fixture(scope="session")
def gateway_api(k8s: Kube) -> list[str]:
    """The Gateway API's standard CRDs (HTTPRoute among them), from the pinned module."""
    return apply_crds(k8s, tools.bundle_files(GATEWAY_API)[0].parent)


@pytest.fixture(scope="session")
def gpuclasses(k8s: Kube, crds: list[str]) -> list[str]:
    applied = apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
    return [doc["metadata"]["name"] for doc in applied]


@pytest.fixture(scope="session")
def hub() -> Iterator[HubStandIn]:
    """The Hugging Face Hub stand-in the weight cache's download Jobs reach (SLMFLEET_HF_ENDPOINT)."""
    with stand_in() as server:
        yield server


@pytest.fixture(scope="session")
def operator_process(
    cluster: DevCluster, crds: list[str], hub: HubStandIn
) -> Iterator[OperatorProcess]:
    """The real operator (`slmfleet run`, every handler) in its own process, cluster-wide."""
    env = {
        "HF_HUB_OFFLINE": "1",  # nothing reaches the Hub here: facts come from the catalog
        "SLMFLEET_GPUCLASS_RESYNC_SECONDS": "5",
        "SLMFLEET_PROMETHEUS_URL": cluster.prometheus_url or "",
        "SLMFLEET_PROMETHEUS_SCRAPE_SECONDS": "1",  # the dev Prometheus scrapes every 1 s
        "SLMFLEET_AUTOSCALE_INTERVAL_SECONDS": "1",
        "SLMFLEET_COST_STATUS_SECONDS": "2",
        "SLMFLEET_HF_ENDPOINT": hub.url,  # the weight cache's downloads reach the stand-in
    }
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the same settings for code the tests call in-process
    settings.cache_clear()
    targets = operator_targets_path(cluster.workdir) if cluster.prometheus_url else None
    process = OperatorProcess(
        cluster.kubeconfig, cluster.workdir / "logs", env, metrics_target=targets
    )
    process.start()
    try:
        yield process
    finally:
        process.check()  # an operator that crashed during the session fails it
        process.stop()
        cluster.check()
        for name, value in before.items():  # later tiers see the environment they started with
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.cache_clear()


@pytest.fixture(scope="session")
def operator(operator_process: OperatorProcess) -> OperatorProcess:
    """The running operator (started once per session)."""
    return operator_process
