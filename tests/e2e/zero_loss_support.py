"""The zero-loss scenario, shared by tests/e2e/test_zero_loss.py and bench/zero_loss.py: one
SmallModel behind the namespace's router, taken through a promotion, an automatic rollback, an
abort, an autoscaler scale-down, a scale to zero and back, and an operator restart mid-step,
while a load generator (given as ``mark``) labels its requests with the phase under way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rollout_support import (
    ECHO,
    Restartable,
    describe,
    echo_model,
    revision_replicas,
    wait_phase,
    wait_serving,
    with_args,
)

from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

NAME = "zl"
PHASES = (
    "promotion",
    "rollback",
    "abort",
    "scale-down",
    "scale-to-zero",
    "scale-up",
    "restart",
)
"""The phases in order (the aborted revision stays the spec's, rolled back, until ``restart``)."""
ROLLOUT = {
    "steps": [{"weight": 50}],
    "failureLimit": 0,
    "metrics": {"p95TTFTSeconds": 0.5},
}
HELD = {"steps": [{"weight": 50, "pauseSeconds": 3600}], "analysis": "none"}


def model(namespace: str) -> dict[str, Any]:
    body = echo_model(namespace, NAME, ROLLOUT)
    body["spec"]["minReplicas"] = 0  # so it can be scaled to zero
    return body


def request_body(body: dict[str, Any]) -> dict[str, Any]:
    served = body["spec"]["servedModelName"]
    return {"model": served, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def router_urls(k8s: Kube, namespace: str) -> list[str]:
    """The chat URL of each of the namespace's two ready router pods."""
    ips = poll("2 ready router pods", lambda: len(r := router_ips(k8s, namespace)) == 2 and r)
    return [f"http://{ip}:8080/v1/chat/completions" for ip in ips]


def start(k8s: Kube, namespace: str) -> dict[str, Any]:
    body = model(namespace)
    k8s.apply(body)
    wait_serving(k8s, NAME, namespace)
    return body


def drained(k8s: Kube, namespace: str, keep: dict[str, int]) -> None:
    """Until no revision drains and the revisions' replicas are ``keep`` (others deleted)."""

    def probe() -> bool:
        status = (k8s.get("SmallModel", NAME, namespace) or {}).get("status") or {}
        return not status.get("draining") and revision_replicas(k8s, NAME, namespace) == keep

    try:
        poll(f"drained to {keep}", probe, timeout=180, interval=0.3)
    except TimeoutError as err:
        raise TimeoutError(f"{err}; status: {describe(k8s, NAME, namespace)}") from None


def _annotate(k8s: Kube, namespace: str, key: str) -> None:
    patch = {"metadata": {"annotations": {f"slmfleet.io/{key}": "true"}}}
    k8s.merge_patch("SmallModel", NAME, patch, namespace)


def _scale(k8s: Kube, namespace: str, replicas: int) -> None:
    """What the autoscaler does in operator mode: write spec.replicas through the scale
    subresource."""
    k8s.merge_patch("SmallModel", NAME, {"spec": {"replicas": replicas}}, namespace, "scale")


def _pods(k8s: Kube, namespace: str) -> list[dict[str, Any]]:
    return k8s.list("Pod", namespace, f"slmfleet.io/model={NAME}")


def _ready_pods(k8s: Kube, namespace: str) -> int:
    return sum(
        1
        for p in _pods(k8s, namespace)
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    )


def run_scenario(
    k8s: Kube,
    namespace: str,
    body: dict[str, Any],
    operator: Restartable,
    mark: Callable[[str], None],
) -> None:
    """Every phase in turn; ``mark(phase)`` is called as each begins."""
    stable = wait_serving(k8s, NAME, namespace)["status"]["templateHash"]

    mark("promotion")
    good = with_args(body, ECHO, "--inter-token-latency=1ms")
    k8s.apply(good)
    promoted = wait_serving(k8s, NAME, namespace, timeout=180)["status"]["templateHash"]
    assert promoted != stable
    drained(k8s, namespace, {promoted: 2})

    mark("rollback")
    k8s.apply(with_args(good, ECHO, "--time-to-first-token=800ms"))
    r = wait_phase(k8s, NAME, namespace, ("RolledBack",), timeout=180)
    assert r["rollbackReason"] == "RolledBack", r
    drained(k8s, namespace, {promoted: 2, r["canaryRevision"]: 0})

    mark("abort")
    held = with_args(good, ECHO, "--inter-token-latency=2ms")
    held["spec"]["rollout"] = {**held["spec"]["rollout"], **HELD}
    k8s.apply(held)
    canary = wait_phase(k8s, NAME, namespace, ("Paused",), timeout=180)["canaryRevision"]
    _annotate(k8s, namespace, "abort")
    wait_phase(k8s, NAME, namespace, ("RolledBack",))
    drained(k8s, namespace, {promoted: 2, canary: 0})

    mark("scale-down")
    _scale(k8s, namespace, 1)
    poll("one engine pod left", lambda: len(_pods(k8s, namespace)) == 1, 120)

    mark("scale-to-zero")
    _scale(k8s, namespace, 0)
    poll("no engine pod left", lambda: not _pods(k8s, namespace), 120)

    mark("scale-up")  # the requests held by the routers are served once a replica is ready
    _scale(k8s, namespace, 2)
    poll("2 ready engine pods", lambda: _ready_pods(k8s, namespace) == 2, 120)

    mark("restart")
    held = with_args(held, ECHO, "--inter-token-latency=3ms")
    k8s.apply(held)  # a canary held at its step ...
    canary = wait_phase(k8s, NAME, namespace, ("Paused",), timeout=180)["canaryRevision"]
    operator.restart()  # ... across an operator restart, then promoted by the new one
    _annotate(k8s, namespace, "promote")
    wait_serving(k8s, NAME, namespace, timeout=180)
    drained(k8s, namespace, {canary: 2})
