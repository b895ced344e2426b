"""Helpers shared by the rollout e2e tests: a two-replica echo model, spec changes, waiting."""

from __future__ import annotations

import copy
from typing import Any, Protocol

import yaml

from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube


class Restartable(Protocol):
    """The session's operator process (tests/conftest.py OperatorProcess)."""

    def restart(self) -> object: ...


EXAMPLES = repo_root() / "manifests" / "examples"
ECHO = "--mode=echo"


def echo_model(
    namespace: str, name: str, rollout: dict[str, Any], replicas: int = 2, gpu_class: str = "l4"
) -> dict[str, Any]:
    """Qwen3-0.6B simulated in echo mode, with a fast rollout. The L4 class has two 4-GPU nodes,
    room for the pods of a test and those of the previous test still shutting down."""
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(
        gpuClassName=gpu_class,
        replicas=replicas,
        minReplicas=1,
        maxReplicas=max(2, replicas),
        engine={"extraArgs": [ECHO]},
        rollout={"analysisIntervalSeconds": 3, "inconclusiveLimit": 6, **rollout},
    )
    return dict(body)


def with_args(body: dict[str, Any], *args: str) -> dict[str, Any]:
    """The same model with other simulator/engine extra args: a new revision."""
    changed = copy.deepcopy(body)
    changed["spec"]["engine"]["extraArgs"] = list(args)
    return changed


def rollout_of(k8s: Kube, name: str, namespace: str) -> dict[str, Any]:
    obj = k8s.get("SmallModel", name, namespace) or {}
    return dict((obj.get("status") or {}).get("rollout") or {})


def wait_serving(k8s: Kube, name: str, namespace: str, timeout: float = 90) -> dict[str, Any]:
    """Until the spec's revision is the stable one and all its replicas are ready."""

    def probe() -> dict[str, Any] | None:
        obj = k8s.get("SmallModel", name, namespace) or {}
        status = obj.get("status") or {}
        r = status.get("rollout") or {}
        gen = (obj.get("metadata") or {}).get("generation")
        ok = (
            status.get("observedGeneration") == gen
            and r.get("phase") == "Succeeded"
            and r.get("stableRevision") == status.get("templateHash")
            and status.get("readyReplicas") == (obj.get("spec") or {}).get("replicas")
        )
        return obj if ok else None

    try:
        return poll(f"{namespace}/{name} serving its spec", probe, timeout, interval=0.5)
    except TimeoutError as err:
        raise TimeoutError(f"{err}; status: {describe(k8s, name, namespace)}") from None


def describe(k8s: Kube, name: str, namespace: str) -> str:
    """The model's status and revision replicas, for failure messages."""
    obj = k8s.get("SmallModel", name, namespace) or {}
    status = dict(obj.get("status") or {})
    status.pop("plan", None)
    return f"{status!r}; generation {obj.get('metadata', {}).get('generation')}; " + (
        f"replicas {revision_replicas(k8s, name, namespace)}"
    )


def wait_phase(
    k8s: Kube, name: str, namespace: str, phases: tuple[str, ...], timeout: float = 120
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        r = rollout_of(k8s, name, namespace)
        return r if r.get("phase") in phases else None

    try:
        return poll(f"{namespace}/{name} rollout in {phases}", probe, timeout, interval=0.3)
    except TimeoutError as err:
        raise TimeoutError(f"{err}; status: {describe(k8s, name, namespace)}") from None


def revision_replicas(k8s: Kube, name: str, namespace: str) -> dict[str, int]:
    """spec.replicas of each revision's Deployment."""
    return {
        d["metadata"]["labels"]["slmfleet.io/revision"]: int(d["spec"].get("replicas") or 0)
        for d in k8s.list("Deployment", namespace, f"slmfleet.io/model={name}")
    }


def events(k8s: Kube, name: str, namespace: str) -> list[dict[str, Any]]:
    return [
        e for e in k8s.list("Event", namespace) if e.get("involvedObject", {}).get("name") == name
    ]


def reasons(k8s: Kube, name: str, namespace: str) -> set[str]:
    return {e["reason"] for e in events(k8s, name, namespace)}


def paused_canary(k8s: Kube, namespace: str, name: str, pause: int) -> dict[str, Any]:
    """An echo model serving, then changed: its canary holds step 1 for ``pause`` seconds.
    Returns the rollout status of that step."""
    rollout = {"steps": [{"weight": 50, "pauseSeconds": pause}], "analysis": "none"}
    body = echo_model(namespace, name, rollout)
    k8s.apply(body)
    wait_serving(k8s, name, namespace)
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    return wait_phase(k8s, name, namespace, ("Paused",), timeout=90)


def assert_resumed_once(k8s: Kube, namespace: str, name: str, before: dict[str, Any]) -> None:
    """The same step went on (never begun again) and the canary was promoted once."""
    during = rollout_of(k8s, name, namespace)
    assert during["step"] == 0 and during["stepStartedAt"] == before["stepStartedAt"]
    obj = wait_serving(k8s, name, namespace, timeout=120)
    assert obj["status"]["rollout"]["stableRevision"] == before["canaryRevision"]
    for reason in ("RolloutStarted", "Promoting"):
        # The rollout's own Events (conditions report the phase under the same reason).
        counted = [
            e
            for e in events(k8s, name, namespace)
            if e["reason"] == reason and not e["message"].startswith(("Ready=", "Reconciling="))
        ]
        assert sum(int(e.get("count") or 1) for e in counted) == 1, reason
