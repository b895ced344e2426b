"""The story the demo fleet tells: a change promoted, then a slow canary rolled back.

Each chapter patches qwen3-0.6b, prints every rollout step with its analysis in units a person
reads (ms, %), and counts the requests a background client sends through the namespace's router
meanwhile: by revision, and how many failed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

MODEL = "qwen3-0.6b"
SERVED = "qwen3-small"
NAMESPACE = "default"
REVISION_HEADER = "x-slmfleet-revision"


@dataclass(frozen=True)
class Chapter:
    title: str
    patch: dict[str, Any]
    outcome: str  # the rollout phase that ends the chapter: Succeeded or RolledBack


CHAPTERS = (
    Chapter(
        "Promotion: a longer context for qwen3-0.6b (maxModelLen 16384 -> 8192) as a canary",
        {
            "spec": {
                "maxModelLen": 8192,
                "rollout": {
                    "steps": [{"weight": 50, "pauseSeconds": 10}, {"weight": 100}],
                    "analysisIntervalSeconds": 5,
                    "metrics": {"p95TTFTSeconds": 2.0, "errorRate": 0.05},
                },
            }
        },
        "Succeeded",
    ),
    Chapter(
        "Rollback: a slow canary (1500 ms to the first token; the limit is a p95 of 500 ms)",
        {
            "spec": {
                "engine": {"extraArgs": ["--time-to-first-token=1500ms"]},
                "rollout": {"failureLimit": 0, "metrics": {"p95TTFTSeconds": 0.5}},
            }
        },
        "RolledBack",
    ),
)


class Traffic:
    """A client thread sending completions through the router, counting answers by revision."""

    def __init__(self) -> None:
        self.ips: list[str] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def take(self) -> Counter[str]:
        """The answers counted since the last call (revision -> count, "failed" -> count)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def _run(self) -> None:
        body = json.dumps({"model": SERVED, "prompt": "demo", "max_tokens": 2}).encode()
        sent = 0
        while not self._stop.is_set():
            ips = list(self.ips)
            if not ips:
                self._stop.wait(0.5)
                continue
            url = f"http://{ips[sent % len(ips)]}:8080/v1/completions"
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    answer = resp.headers.get(REVISION_HEADER, "?")
            except OSError:
                answer = "failed"
            sent += 1
            with self._lock:
                self._counts[answer] += 1
            self._stop.wait(0.1)


def _number(name: str, value: float) -> str:
    if name == "errorRate":
        return f"{value * 100:.1f}%"
    if name.endswith("Seconds"):
        return f"{value * 1000:.0f} ms"
    return f"{value:g}"


def check_text(check: Mapping[str, Any]) -> str:
    """One analysis check as `p95TTFTSeconds 812 ms (<= 2000 ms) pass`."""
    name = str(check.get("name", ""))
    value = check.get("value")
    shown = "no data" if not isinstance(value, int | float) else _number(name, float(value))
    op, _, limit = str(check.get("threshold", "")).partition(" ")
    try:
        threshold = f"{op} {_number(name, float(limit))}"
    except ValueError:
        threshold = str(check.get("threshold", ""))
    return f"{name} {shown} ({threshold}) {check.get('verdict', '')}"


def step_line(rollout: Mapping[str, Any]) -> str:
    """A rollout's phase, canary weight (or serving revision) and last analysis on one line."""
    checks = ", ".join(check_text(c) for c in rollout.get("lastAnalysis") or [])
    phase = rollout.get("phase", "?")
    where = (
        f"serving {rollout.get('stableRevision')}"
        if phase == "Succeeded"
        else f"canary weight {rollout.get('weight', 0):>3}%"
    )
    return f"  {phase:<11} {where}" + (f"  {checks}" if checks else "")


def traffic_text(counts: Counter[str]) -> str:
    total = sum(counts.values())
    answered = ", ".join(f"{rev} {n}" for rev, n in sorted(counts.items()) if rev != "failed")
    return f"{total} requests through the router ({answered or 'none answered'}), {counts['failed']} failed"


def play_chapter(
    kube: Kube, chapter: Chapter, traffic: Traffic, keep_going: Callable[[], bool]
) -> bool:
    """Apply the chapter's change and narrate its rollout to its end; True when it ended as
    `chapter.outcome`, False when it ended otherwise or was cut off."""
    print(f"\n{chapter.title}", flush=True)
    kube.merge_patch("SmallModel", MODEL, chapter.patch, NAMESPACE)
    traffic.take()
    total: Counter[str] = Counter()
    canary: str | None = None
    last = ""
    while keep_going():
        traffic.ips = router_ips(kube, NAMESPACE)
        model = kube.get("SmallModel", MODEL, NAMESPACE) or {}
        rollout = (model.get("status") or {}).get("rollout") or {}
        canary = rollout.get("canaryRevision") or canary
        line = step_line(rollout) if canary else ""
        phase = str(rollout.get("phase", ""))
        done = canary is not None and phase in ("Succeeded", "RolledBack", "Failed")
        if done and phase == "Succeeded":
            done = rollout.get("stableRevision") == canary
        if line and (line != last or done):
            counts = traffic.take()
            total += counts
            print(f"{line}\n    meanwhile {traffic_text(counts)}", flush=True)
            last = line
        if done:
            total += traffic.take()
            verb = {"Succeeded": "promoted", "RolledBack": "rolled back"}.get(phase, "failed")
            print(f"  => canary {canary} {verb}: {rollout.get('message', '')}", flush=True)
            print(f"  during the rollout: {traffic_text(total)}", flush=True)
            return phase == chapter.outcome
        time.sleep(1)
    return False


def tell(kube: Kube, keep_going: Callable[[], bool]) -> bool:
    """Both chapters with a background client; True when the story got to its end."""
    traffic = Traffic()
    traffic.start()
    try:
        return all(play_chapter(kube, c, traffic, keep_going) for c in CHAPTERS)
    finally:
        traffic.stop()
