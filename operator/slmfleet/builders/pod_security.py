"""Security settings of the pods the operator creates (pure).

Engine, init and router pods pass the Pod Security Standard `restricted` by default: non-root,
seccomp RuntimeDefault, no privilege escalation, every capability dropped, no ServiceAccount token.
A SmallModel's ``engine.securityContext`` changes only who the engine runs as (for images that need
another user or root); the container-level restrictions always stay.
"""

from __future__ import annotations

from typing import Any

from slmfleet.api.engine import EngineSecurityContext

ENGINE_UID = 1000
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
GIB = 1024**3
# What the engine's disk cache holds besides downloaded weights (vLLM's and torch's compile caches).
ENGINE_CACHE_BASE_BYTES = 2 * GIB
ADAPTER_CACHE_BYTES = GIB
GPU_TAINT_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
"""The usual taint of GPU nodes: engine pods and download Jobs tolerate it."""


def container_security_context() -> dict[str, Any]:
    """The container half of `restricted`: no escalation, no capabilities, RuntimeDefault."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": dict(RUNTIME_DEFAULT),
    }


def engine_pod_security_context(override: EngineSecurityContext | None) -> dict[str, Any]:
    """UID/GID 1000 and non-root unless the SmallModel says otherwise; seccomp always."""
    uid = ENGINE_UID
    group = ENGINE_UID
    fs_group = ENGINE_UID
    non_root: bool | None = None
    if override is not None:
        uid = override.run_as_user if override.run_as_user is not None else uid
        group = override.run_as_group if override.run_as_group is not None else group
        fs_group = override.fs_group if override.fs_group is not None else fs_group
        non_root = override.run_as_non_root
    if non_root is None:
        non_root = uid != 0
    return {
        "runAsNonRoot": non_root,
        "runAsUser": uid,
        "runAsGroup": group,
        "fsGroup": fs_group,
        "seccompProfile": dict(RUNTIME_DEFAULT),
    }


def router_pod_security_context() -> dict[str, Any]:
    """The router runs as the image's non-root user (the Dockerfile's USER) with RuntimeDefault."""
    return {"runAsNonRoot": True, "seccompProfile": dict(RUNTIME_DEFAULT)}


def gib(nbytes: int) -> str:
    """A byte count rounded up to whole GiB, as a Kubernetes quantity."""
    return f"{max(1, -(-nbytes // GIB))}Gi"


def engine_cache_bytes(weights_bytes: int, downloads_weights: bool) -> int:
    """The disk the engine's cache emptyDir may fill: the weights (with a fifth of margin for
    the Hub's download files) when it downloads them, plus compile caches."""
    weights = weights_bytes + weights_bytes // 5 if downloads_weights else 0
    return ENGINE_CACHE_BASE_BYTES + weights
