"""Fixtures for tests that need slmfleet itself on the cluster: CRDs, GPUClasses, the operator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import apply_crds, apply_files, repo_root
from slmfleet.k8s import Kube

EXAMPLES = repo_root() / "manifests" / "examples"


@pytest.fixture(scope="session")
def k8s(kube: client.ApiClient) -> Kube:
    return Kube(kube)


@pytest.fixture(scope="session")
def crds(k8s: Kube) -> list[str]:
    return apply_crds(k8s)


@pytest.fixture(scope="session")
def gpuclasses(k8s: Kube, crds: list[str]) -> list[str]:
    applied = apply_files(k8s, [EXAMPLES / "gpuclasses.yaml"])
    return [doc["metadata"]["name"] for doc in applied]


@pytest.fixture(scope="session")
def operator(cluster: DevCluster, crds: list[str]) -> Iterator[KopfRunner]:
    """The real operator (all handlers of slmfleet.main) in kopf's test runner, cluster-wide."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing reaches the Hub here: facts come from the catalog
    os.environ["SLMFLEET_GPUCLASS_RESYNC_SECONDS"] = "5"
    args = ["run", "--standalone", "--all-namespaces", "-m", "slmfleet.main"]
    runner = KopfRunner(args, reraise=True)
    runner.__enter__()
    try:
        yield runner
    finally:
        runner.__exit__(None, None, None)
        cluster.check()


def condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return {}
