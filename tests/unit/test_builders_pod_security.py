"""Engine, init and router pods pass the Pod Security Standard `restricted`; the override works.

`restricted_violations` restates the standard's checks (kubernetes.io/docs/concepts/security/
pod-security-standards, v1.33) for the fields our builders set; the integration tier has the real
apiserver enforce it.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_reconcile_smallmodel import IMAGE, engine, model, observed

from slmfleet.builders import router
from slmfleet.reconcile.smallmodel import decide

pytestmark = pytest.mark.unit

ALLOWED_VOLUMES = {"configMap", "emptyDir", "persistentVolumeClaim", "secret", "projected"}
HF_ADAPTER = {"name": "sql", "source": {"huggingFace": {"repo": "org/sql-lora", "revision": "a"}}}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """How a pod spec breaks PSS `restricted` (empty when it passes)."""
    out: list[str] = []
    pod_ctx = pod.get("securityContext") or {}
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            out.append(f"volume {volume['name']}: {sorted(kinds)}")
    for c in [*pod.get("initContainers", []), *pod["containers"]]:
        ctx = c.get("securityContext") or {}
        name = c["name"]
        if ctx.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation != false")
        if ctx.get("privileged"):
            out.append(f"{name}: privileged")
        if "ALL" not in (ctx.get("capabilities") or {}).get("drop", []):
            out.append(f"{name}: capabilities not dropping ALL")
        if set((ctx.get("capabilities") or {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            out.append(f"{name}: adds capabilities")
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            out.append(f"{name}: runAsNonRoot not true")
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            out.append(f"{name}: runAsUser 0")
        seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile")) or {}
        if seccomp.get("type") not in {"RuntimeDefault", "Localhost"}:
            out.append(f"{name}: seccompProfile {seccomp}")
    return out


def _engine_pod(**spec: Any) -> dict[str, Any]:
    deployment = engine(decide(model(**spec), observed(), IMAGE).children)
    return dict(deployment["spec"]["template"]["spec"])


def _router_pod() -> dict[str, Any]:
    return dict(
        router.deployment("ns", "img", [("SmallModel", "m", "u")])["spec"]["template"]["spec"]
    )


def test_engine_pod_with_an_init_container_is_restricted() -> None:
    pod = _engine_pod(loraAdapters=[HF_ADAPTER])
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-adapters"]
    assert restricted_violations(pod) == []
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 1000


def test_router_pod_is_restricted_and_memory_bounded() -> None:
    pod = _router_pod()
    assert restricted_violations(pod) == []
    assert pod["automountServiceAccountToken"] is False
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["memory"] == router.MEMORY_LIMIT
    assert "ephemeral-storage" in resources["requests"]


def test_the_checker_catches_a_root_pod() -> None:
    pod = _engine_pod(engine={"securityContext": {"runAsUser": 0}})
    assert pod["securityContext"]["runAsNonRoot"] is False
    assert restricted_violations(pod) == ["vllm: runAsNonRoot not true", "vllm: runAsUser 0"]
    # The container-level restrictions stay with a root override.
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_override_sets_user_group_and_fs_group() -> None:
    ctx = _engine_pod(engine={"securityContext": {"runAsUser": 2000, "fsGroup": 3000}})[
        "securityContext"
    ]
    assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["fsGroup"]) == (2000, 1000, 3000)
    assert ctx["runAsNonRoot"] is True


def test_root_with_run_as_non_root_is_refused() -> None:
    with pytest.raises(ValueError, match="runAsUser 0"):
        model(engine={"securityContext": {"runAsUser": 0, "runAsNonRoot": True}})


def test_the_home_holding_the_hf_cache_is_a_bounded_writable_volume() -> None:
    pod = _engine_pod(loraAdapters=[HF_ADAPTER])
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert env["HF_HOME"].startswith(env["HOME"] + "/")
    volumes = {v["name"]: v for v in pod["volumes"]}
    for volume in volumes.values():
        if "emptyDir" in volume:
            assert "sizeLimit" in volume["emptyDir"], volume
    # Qwen2.5-3B in bf16 is about 6 GiB of weights: the cache must hold them.
    assert volumes[mounts[env["HOME"]]]["emptyDir"]["sizeLimit"] == "9Gi"
    assert container["resources"]["requests"]["ephemeral-storage"] == "10Gi"


def test_a_pvc_model_does_not_reserve_disk_for_weights() -> None:
    source = {"pvc": {"claimName": "weights", "path": "qwen"}}
    container = _engine_pod(source=source)["containers"][0]
    assert container["resources"]["requests"]["ephemeral-storage"] == "2Gi"
