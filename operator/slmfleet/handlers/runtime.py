"""The operator's shared parts, made once at startup: the cache view, the API client, the
scheduler, the applier, the Event poster and the analyses in flight. Handlers reach them through
``runtime()``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from slmfleet.cache.view import FleetCache
from slmfleet.handlers.analysis_runner import AnalysisRunner
from slmfleet.handlers.apply import Applier
from slmfleet.handlers.events import EventPoster
from slmfleet.k8s import Kube
from slmfleet.workqueue import Key, Scheduler


@dataclass
class Runtime:
    cache: FleetCache
    kube: Kube
    scheduler: Scheduler
    applier: Applier
    events: EventPoster
    analyses: AnalysisRunner = field(default_factory=AnalysisRunner)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the scheduler on kopf's event loop, from the first watch handler (indexes are
        filled by then)."""
        if self.task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: the scheduler that runs it is started already
        self.task = loop.create_task(self.scheduler.run(), name="slmfleet-scheduler")

    def stop(self) -> None:
        self.analyses.shutdown()
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        self.start()
        self.scheduler.enqueue(key, delay)

    def ensure(self, key: Key, delay: float) -> None:
        self.start()
        self.scheduler.ensure(key, delay)


_current: Runtime | None = None


def install(rt: Runtime) -> Runtime:
    global _current  # noqa: PLW0603 - one runtime per operator process, set at startup
    _current = rt
    return rt


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the operator runtime is not started (slmfleet.main's startup handler)")
    return _current


def model_key(namespace: str, name: str) -> Key:
    return ("model", namespace, name)


def routes_key(namespace: str) -> Key:
    return ("routes", namespace)


def gpuclass_key(name: str) -> Key:
    return ("gpuclass", name)
