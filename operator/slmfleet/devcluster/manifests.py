"""Apply the repository's YAML (CRDs, examples) to a cluster and wait for CRDs to be established."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from slmfleet.k8s import Kube, resource_for


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def apply_files(
    kube: Kube, paths: Iterable[Path], namespace: str | None = None
) -> list[dict[str, Any]]:
    """Server-side apply every document; namespaced kinds without a namespace get ``namespace``."""
    applied = []
    for path in paths:
        for doc in load_documents(path):
            if namespace and resource_for(doc["kind"]).namespaced:
                doc.setdefault("metadata", {}).setdefault("namespace", namespace)
            applied.append(kube.apply(doc))
    return applied


def established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def apply_crds(kube: Kube, folder: Path | None = None, timeout: float = 30.0) -> list[str]:
    """Apply every CRD in ``folder`` (default crds/) and wait until each is Established."""
    folder = folder or repo_root() / "crds"
    names = [doc["metadata"]["name"] for doc in apply_files(kube, sorted(folder.glob("*.yaml")))]
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in list(pending):
            crd = kube.get("CustomResourceDefinition", name)
            if crd is not None and established(crd):
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not established after {timeout:.0f}s: {sorted(pending)}")
        if pending:
            time.sleep(0.2)
    return names
