"""The fleet bench's watches: when each model's Deployment was seen and ready, and the model
Ready (bench/fleet_scale.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kubernetes import client, watch
from urllib3.exceptions import ProtocolError

NAMESPACE = "fleet"


def ready(body: dict[str, Any]) -> bool:
    conditions = (body.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def counted_gpus(body: Mapping[str, Any]) -> bool:
    """The fleet pass has seen this model's replica: its status.cost counts a GPU."""
    return int(((body.get("status") or {}).get("cost") or {}).get("gpus") or 0) >= 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Watcher:
    """First time each model's engine Deployment was seen, became ready, the model Ready, and
    the fleet pass counted its GPU. Watches resume from the last resourceVersion seen, so the
    bench lists each kind once, not on every poll (a LIST of 1,000 models every 2 s would load
    the API server the bench measures)."""

    def __init__(self, api: client.ApiClient, models: bool = True) -> None:
        self.api = api
        self.deployment_seen: dict[str, float] = {}
        self.deployment_ready: dict[str, float] = {}
        self.model_ready: dict[str, float] = {}
        self.model_counted: dict[str, float] = {}  # status.cost counts its GPU (counted_gpus)
        self.model_writes: list[float] = []  # when a SmallModel changed (MODIFIED events)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._deployments, daemon=True)]
        if models:
            self._threads.append(threading.Thread(target=self._models, daemon=True))

    def start(self) -> Watcher:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _stream(self, list_call: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Events until stopped, resuming each 30 s stream where the last one ended."""
        version = None
        while not self._stop.is_set():
            w = watch.Watch()
            extra: dict[str, str] = {"resource_version": version} if version else {}
            try:
                for event in w.stream(list_call, *args, timeout_seconds=30, **kwargs, **extra):
                    yield event
                    version = w.resource_version
            except ProtocolError:  # a busy API server ends streams early
                version = w.resource_version or version
            except client.ApiException as e:
                if e.status != 410:
                    raise
                version = None  # too old: list again

    def _deployments(self) -> None:
        apps = client.AppsV1Api(self.api)
        for event in self._stream(apps.list_namespaced_deployment, NAMESPACE,
                                  label_selector="slmfleet.io/model"):  # fmt: skip
            now = time.monotonic()
            dep = event["object"]
            name = (dep.metadata.labels or {}).get("slmfleet.io/model", "")
            self.deployment_seen.setdefault(name, now)
            if (dep.status.ready_replicas or 0) >= 1:
                self.deployment_ready.setdefault(name, now)

    def _models(self) -> None:
        custom = client.CustomObjectsApi(self.api)
        for event in self._stream(custom.list_namespaced_custom_object, "slmfleet.io",
                                  "v1alpha1", NAMESPACE, "smallmodels"):  # fmt: skip
            body = event["object"]
            now = time.monotonic()
            if event["type"] == "MODIFIED":
                self.model_writes.append(now)
            name = body["metadata"]["name"]
            if ready(body):
                self.model_ready.setdefault(name, now)
            if counted_gpus(body):
                self.model_counted.setdefault(name, now)


def timeline(watcher: Watcher, t0: float) -> dict[str, list[float]]:
    """When (seconds after the first create) 10, 50, 90 and 100 % of the Deployments were seen
    and ready, and of the models Ready: which side of the pipeline the fleet waits on."""
    out = {}
    marks = {"deployment seen": watcher.deployment_seen,
             "deployment ready": watcher.deployment_ready, "model Ready": watcher.model_ready}  # fmt: skip
    for what, seen in marks.items():
        times = sorted(t - t0 for name, t in seen.items() if name.startswith("m"))
        if times:
            out[what] = [round(percentile(times, q), 1) for q in (0.1, 0.5, 0.9, 1.0)]
    return out
