"""Autoscaling on the real control plane: simulator pods, Prometheus scraping them, the operator.

The simulator runs one sequence at a time (maxNumSeqs 1) with a slow first token, so concurrent
requests queue and vllm:num_requests_waiting rises. Every request loop is bounded in time.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from slmfleet.devcluster import serving
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

EXAMPLE = repo_root() / "manifests" / "examples" / "smallmodel-qwen3-0.6b-t4.yaml"
SERVED = "qwen3-small"


def smallmodel(namespace: str, autoscaling: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"]["namespace"] = namespace
    body["spec"].update(
        maxNumSeqs=1,
        engine={"extraArgs": ["--time-to-first-token=400ms"]},
        autoscaling={"enabled": True, "metricWindowSeconds": 2, **autoscaling},
        **spec,
    )
    return dict(body)


def spec_replicas(k8s: Kube, name: str, namespace: str) -> int | None:
    obj = k8s.get("SmallModel", name, namespace) or {}
    value = (obj.get("spec") or {}).get("replicas")
    return None if value is None else int(value)


def wait_replicas(k8s: Kube, name: str, namespace: str, ok: Any, timeout: float) -> int:
    def probe() -> tuple[int] | None:  # a tuple, so that 0 replicas counts as found
        value = spec_replicas(k8s, name, namespace)
        return (value,) if value is not None and ok(value) else None

    return poll(f"{namespace}/{name} spec.replicas", probe, timeout)[0]


def ready_pod_ips(k8s: Kube, name: str, namespace: str) -> list[str]:
    return serving.ready_pod_ips(k8s, namespace, f"slmfleet.io/model={name}")


def serving_pod_ip(k8s: Kube, name: str, namespace: str) -> str:
    """A Ready engine pod that answers (the local cluster marks pods Ready a moment before the
    simulator behind them listens)."""

    def probe() -> str | None:
        return next((ip for ip in ready_pod_ips(k8s, name, namespace) if health(ip)), None)

    return poll("a replica serving", probe, 90)


def health(ip: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{ip}:8000/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def complete(ip: str, timeout: float = 20.0) -> int:
    body = json.dumps({"model": SERVED, "prompt": "hello", "max_tokens": 2}).encode()
    request = urllib.request.Request(
        f"http://{ip}:8000/v1/completions", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return int(resp.status)
    except OSError:
        return 0


@contextmanager
def queue_load(ip: str, clients: int, seconds: float) -> Iterator[list[int]]:
    """`clients` threads sending requests back to back to one pod, for at most `seconds`."""
    stop = threading.Event()
    codes: list[int] = []
    deadline = time.monotonic() + seconds

    def loop() -> None:
        for _ in range(1000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            codes.append(complete(ip))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield codes
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def event_reasons(k8s: Kube, namespace: str, name: str) -> set[str]:
    return {
        str(e.get("reason"))
        for e in k8s.list("Event", namespace)
        if e.get("involvedObject", {}).get("name") == name
        and e.get("involvedObject", {}).get("kind") == "SmallModel"
    }


def test_scales_up_under_queue_depth_and_down_after_the_window(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    auto = {
        "targets": {"numRequestsWaiting": 1},
        "scaleUp": {"stabilizationWindowSeconds": 0, "maxStep": 2},
        "scaleDown": {"stabilizationWindowSeconds": 3, "maxStep": 4},
    }
    body = smallmodel(namespace, auto, minReplicas=1, maxReplicas=3)
    name = body["metadata"]["name"]
    k8s.apply(body)
    ip = serving_pod_ip(k8s, name, namespace)

    # 6 clients on one sequence slot: about 5 waiting, target 1 per replica -> ceil(5) capped at 3.
    with queue_load(ip, clients=6, seconds=60) as codes:
        up = wait_replicas(k8s, name, namespace, lambda r: r >= 2, timeout=45)
        assert up >= 2
        poll("scaled replicas ready", lambda: len(ready_pod_ips(k8s, name, namespace)) >= 2, 60)
    assert codes and all(code == 200 for code in codes)

    obj = k8s.get("SmallModel", name, namespace) or {}
    autoscaling = obj["status"]["autoscaling"]
    assert autoscaling["mode"] == "operator"
    assert autoscaling["lastScaleTime"]

    # No load: waiting 0 recommends the floor; after the 3 s down window it scales back to 1.
    wait_replicas(k8s, name, namespace, lambda r: r == 1, timeout=60)
    dep = poll(
        "Deployment scaled down",
        lambda: (
            [  # one engine Deployment per revision, named <model>-<revision>
                d["spec"].get("replicas")
                for d in k8s.list("Deployment", namespace, f"slmfleet.io/model={name}")
            ]
            == [1]
            or None
        ),
        30,
    )
    assert dep
    reasons = poll(
        "scale Events",
        lambda: (r := event_reasons(k8s, namespace, name)) >= {"ScaleUp", "ScaleDown"} and r,
        30,
    )
    assert {"ScaleUp", "ScaleDown"} <= reasons


def test_scales_to_zero_after_the_idle_window(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    auto = {
        "targets": {"numRequestsWaiting": 2},
        "scaleDown": {"stabilizationWindowSeconds": 0, "maxStep": 1},
        "scaleToZero": {"enabled": True, "idleSeconds": 4},
    }
    body = smallmodel(namespace, auto, minReplicas=0, maxReplicas=2, replicas=1)
    name = body["metadata"]["name"]
    k8s.apply(body)
    ip = serving_pod_ip(k8s, name, namespace)
    assert complete(ip) == 200
    started = time.monotonic()
    wait_replicas(k8s, name, namespace, lambda r: r == 0, timeout=60)
    assert time.monotonic() - started >= 3  # not before the idle window (4 s, 1 s of slack)
    # The scale is patched before the status is written: wait for the Event of the change.
    poll("an Idle scale Event", lambda: "Idle" in event_reasons(k8s, namespace, name), 15)
    poll("pods gone", lambda: not ready_pod_ips(k8s, name, namespace) or None, 60)


def router_routes(ip: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{ip}:8080/health", timeout=2) as resp:
            return int(json.loads(resp.read()).get("routes", 0))
    except (OSError, ValueError):
        return 0


def router_backends(k8s: Kube, namespace: str) -> list[dict[str, Any]]:
    """Every backend in the router's config (the operator's ConfigMap)."""
    cm = k8s.get("ConfigMap", "slmfleet-router", namespace) or {}
    config = json.loads((cm.get("data") or {}).get("config.json") or "{}")
    return [b for r in config.get("routes", []) for b in r["backends"]]


def router_endpoints(k8s: Kube, namespace: str) -> list[str]:
    """Endpoints of every backend in the router's config."""
    return [e for b in router_backends(k8s, namespace) for e in b["endpoints"]]


def hold_follows_cold_start(k8s: Kube, name: str, namespace: str, seconds: float) -> Any:
    """Set the serving revision's recorded cold start to ``seconds`` (again, should a status
    write from an older read have replaced it); the router backend's holdSeconds, if any."""
    status = (k8s.get("SmallModel", name, namespace) or {}).get("status") or {}
    starts = [s for s in status.get("coldStarts") or [] if s["revision"] == status["templateHash"]]
    if not starts:
        return None  # not measured yet
    if starts[0].get("totalSeconds") != seconds:
        patch = {"status": {"coldStarts": [{**starts[0], "totalSeconds": seconds}]}}
        k8s.merge_patch("SmallModel", name, patch, namespace, "status")
    return next((b.get("holdSeconds") for b in router_backends(k8s, namespace)), None)


def metric_total(ip: str, name: str) -> float:
    with urllib.request.urlopen(f"http://{ip}:8080/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def test_scale_to_zero_and_back_with_held_requests_served(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    auto = {
        "targets": {"numRequestsWaiting": 2},
        "scaleToZero": {"enabled": True, "idleSeconds": 3},
    }
    body = smallmodel(namespace, auto, minReplicas=0, maxReplicas=2, replicas=1)
    name = body["metadata"]["name"]
    k8s.apply(body)
    routers = poll(
        "routers serving the model's route",
        lambda: [ip for ip in router_ips(k8s, namespace) if router_routes(ip) >= 1],
        90,
    )
    # The router holds requests for the model as long as its measured cold start says: a
    # recorded 100 s (the local cluster's pods start in seconds) is held 1.5 x 100 = 150 s.
    hold = poll(
        "the router's hold sized from status.coldStarts",
        lambda: hold_follows_cold_start(k8s, name, namespace, 100.0),
        60,
    )
    assert hold == 150.0
    wait_replicas(k8s, name, namespace, lambda r: r == 0, timeout=60)
    poll("no engine pods", lambda: not ready_pod_ips(k8s, name, namespace) or None, 60)
    poll("router config without endpoints", lambda: not router_endpoints(k8s, namespace), 30)
    time.sleep(3.0)  # the routers' ConfigMap watch delivers the empty endpoint list

    # Requests to a model at zero replicas are held by the router while the autoscaler, seeing
    # them in slmfleet_router_held_requests, brings a replica up; then they are served.
    codes: list[int | str] = []
    lock = threading.Lock()
    started = time.monotonic()

    def one(ip: str) -> None:
        result = held_request(ip)
        with lock:
            codes.append(result)

    threads = [threading.Thread(target=one, args=(ip,), daemon=True) for ip in (routers * 3)[:3]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    waited = time.monotonic() - started
    assert codes == [200, 200, 200], codes
    assert waited > 0.5  # they were held, not answered at once
    assert "ScaleFromZero" in event_reasons(k8s, namespace, name)
    held_seconds = sum(
        metric_total(ip, "slmfleet_router_cold_start_hold_seconds_sum") for ip in routers
    )
    assert held_seconds > 0.5


def complete_via(router_ip: str) -> int | str:
    body = json.dumps({"model": SERVED, "prompt": "wake up", "max_tokens": 2}).encode()
    request = urllib.request.Request(
        f"http://{router_ip}:8080/v1/completions", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=40) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return f"{err.code}: {err.read()[:300]!r}"
    except Exception as err:  # the failure is the test's message
        return f"{type(err).__name__}: {err}"


def held_request(router_ip: str) -> int | str:
    """One request through the router; one more try only when the first reached a pod whose
    simulator was not listening yet (the local cluster marks pods Ready before their process
    starts; a real readiness probe keeps such a pod out of the router's endpoints)."""
    first = complete_via(router_ip)
    if isinstance(first, str) and "upstream_unreachable" in first:
        return complete_via(router_ip)
    return first
