"""The rollback scenario of bench/rollback_latency.py on the local dev cluster: a two-replica
echo model, a canary beside one stable replica that holds its step, traffic through the router,
then a breached threshold and the two clocks of the rollback (router, pods)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube
from slmfleet.timefmt import parse_time

EXAMPLES = repo_root() / "manifests" / "examples"


def model(namespace: str, name: str, interval: int, args: list[str]) -> dict[str, Any]:
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen3-0.6b-t4.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(
        replicas=2,
        maxReplicas=2,
        engine={"extraArgs": args},
        rollout={
            "steps": [{"weight": 50, "pauseSeconds": 3600}],
            "analysisIntervalSeconds": interval,
            "failureLimit": 0,
            "inconclusiveLimit": 10,
            "metrics": {"p95TTFTSeconds": 5.0},
        },
    )
    return dict(body)


def rollout(k8s: Kube, name: str, ns: str) -> dict[str, Any]:
    return dict(((k8s.get("SmallModel", name, ns) or {}).get("status") or {}).get("rollout") or {})


def canary_gone(k8s: Kube, name: str, ns: str, canary: str, stable: str) -> bool:
    """Rolled back, no canary pod ready, stable whole (a canary pod briefly not ready while the
    rollout still holds its step is not a rollback)."""
    if rollout(k8s, name, ns).get("phase") not in ("RollingBack", "RolledBack"):
        return False
    pods = k8s.list("Pod", ns, f"slmfleet.io/model={name}")

    def ready(p: dict[str, Any]) -> bool:
        conds = (p.get("status") or {}).get("conditions") or []
        alive = not p["metadata"].get("deletionTimestamp")
        return alive and any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    by_rev: dict[str, int] = {}
    for p in pods:
        if ready(p):
            rev = p["metadata"]["labels"].get("slmfleet.io/revision", "")
            by_rev[rev] = by_rev.get(rev, 0) + 1
    return by_rev.get(canary, 0) == 0 and by_rev.get(stable, 0) == 2


class RouterClient(threading.Thread):
    """Sends completions through the router one after another; records (time, revision)."""

    def __init__(self, url: str, model: str) -> None:
        super().__init__(daemon=True)
        self.url, self.model = url, model
        self.answers: list[tuple[float, str]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        body = json.dumps({"model": self.model, "prompt": "hi", "max_tokens": 1}).encode()
        while not self.stopped.is_set():
            request = urllib.request.Request(
                f"{self.url}/v1/completions", body, {"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    revision = resp.headers.get("x-slmfleet-revision", "")
                    self.answers.append((time.time(), revision))
            except OSError:
                self.stopped.wait(0.05)

    def seen(self, revision: str) -> bool:
        return any(rev == revision for _, rev in self.answers)

    def last(self, revision: str) -> float | None:
        times = [t for t, rev in self.answers if rev == revision]
        return max(times) if times else None


@dataclass
class Rollback:
    """Wall-clock times of one rollback, and the rollout status after it."""

    breached: float
    router_last: float | None
    pods_gone: float
    rollout: dict[str, Any]


def canary_rollback(
    k8s: Kube,
    ns: str,
    name: str,
    interval: int,
    ttft: str,
    thresholds: tuple[float, float],
    hold: Callable[[], object] = lambda: None,
) -> Rollback:
    """A canary with ``ttft`` passes its p95 TTFT check (``thresholds[0]``) and holds its step
    (``hold`` runs then, with a client sending through the router); the threshold lowered to ``thresholds[1]`` is the breach."""
    body = model(ns, name, interval, ["--mode=echo", "--time-to-first-token=200ms"])
    body["spec"]["rollout"]["metrics"]["p95TTFTSeconds"] = thresholds[0]
    k8s.apply(body)
    poll("stable serving", lambda: rollout(k8s, name, ns).get("phase") == "Succeeded", 120)
    body["spec"]["engine"]["extraArgs"] = ["--mode=echo", f"--time-to-first-token={ttft}"]
    k8s.apply(body)

    def paused() -> dict[str, Any] | None:
        r = rollout(k8s, name, ns)
        return r if r.get("phase") == "Paused" else None

    r = poll("canary holding its step", paused, 180)
    assert r is not None
    canary, stable = r["canaryRevision"], r["stableRevision"]
    ips = poll("a ready router", lambda: router_ips(k8s, ns), 60)
    client = RouterClient(f"http://{ips[0]}:8080", body["spec"]["servedModelName"])
    client.start()
    poll("the router sending requests to the canary", lambda: client.seen(canary), 60, 0.1)
    hold()
    patch = {"spec": {"rollout": {"metrics": {"p95TTFTSeconds": thresholds[1]}}}}
    k8s.merge_patch("SmallModel", name, patch, ns)
    breached = time.time()
    poll("canary pods gone", lambda: canary_gone(k8s, name, ns, canary, stable), 120, 0.1)
    pods_gone = time.time()
    time.sleep(1.0)  # answers keep coming: any late canary answer would show here
    client.stopped.set()
    client.join(timeout=15)
    after = rollout(k8s, name, ns)
    k8s.delete("SmallModel", name, ns)
    return Rollback(breached, client.last(canary), pods_gone, after)


def analysis_starts(k8s: Kube, name: str, ns: str, count: int, interval: int) -> list[float]:
    """The start of each of the next ``count`` analyses (status.rollout.lastAnalysisAt)."""
    seen: list[str] = []

    def enough() -> bool:
        at = rollout(k8s, name, ns).get("lastAnalysisAt")
        if at and (not seen or seen[-1] != at):
            seen.append(at)
        return len(seen) >= count

    poll(f"{count} analyses", enough, count * interval * 6.0, 0.1)
    return [parse_time(at).timestamp() for at in seen]
