"""Shared fixtures: one real local control plane per test session, a fresh namespace per test.

Integration and e2e tests never skip when the control plane cannot start: they fail, naming the
component that died and its last log lines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.nodes import FakeGPUNode

REPO = Path(__file__).resolve().parents[1]

TEST_NODES = (
    FakeGPUNode("gpu-t4-0", "Tesla-T4", gpus=4, gpu_memory_mib=15360),
    FakeGPUNode("gpu-l4-0", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-l4-1", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034),
    FakeGPUNode("gpu-a100-0", "NVIDIA-A100-SXM4-80GB", gpus=8, gpu_memory_mib=81920),
)


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
