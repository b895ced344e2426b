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

ROUTES_DEBOUNCE_SECONDS = 0.2
ROUTES_SPACING_FACTOR = 4.0
"""A namespace's routing is planned again no sooner than this many times its last plan's CPU
time: while a namespace of a thousand models has endpoint events every few milliseconds,
its routing plans take at most a fifth of a core, and a small namespace keeps the 0.2 s."""


@dataclass
class Runtime:
    cache: FleetCache
    kube: Kube
    scheduler: Scheduler
    applier: Applier
    events: EventPoster
    analyses: AnalysisRunner = field(default_factory=AnalysisRunner)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    route_costs: dict[str, float] = field(default_factory=dict, repr=False)

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

    def enqueue_routes(self, namespace: str) -> None:
        """Plan the namespace's routing soon: debounced, and spaced by what its plans cost."""
        cost = self.route_costs.get(namespace, 0.0)
        self.enqueue(
            routes_key(namespace), max(ROUTES_DEBOUNCE_SECONDS, ROUTES_SPACING_FACTOR * cost)
        )

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
