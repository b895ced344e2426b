"""Shadow traffic: a sample of a route's answered requests is sent again to its shadow backend,
or to the canary revision of a SmallModel backend at a shadow step of its rollout.

The client already has its answer when the mirror starts (it is launched after the response is
built, as a task nobody awaits), so the mirror can neither delay nor fail the served request.
At most ``max_in_flight`` mirrors run at once; beyond that a sampled request is dropped (and
counted), as is one whose target has no ready endpoint yet. For each mirror the router records the shadow backend's latency and whether its answer
text equals the served one (surrounding whitespace ignored): ``agree``, ``differ`` or ``error``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from slmfleet.router.config import Backend, Route, RouterConfig
from slmfleet.router.escalation import answer_text
from slmfleet.router.metrics import RouterMetrics

MAX_IN_FLIGHT = 64

Mirror = Callable[..., Any]


def text_of(body: bytes) -> str | None:
    """The first choice's text of an OpenAI response body; None when there is none."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return None
    return answer_text(choices[0]).strip()


def verdict(served: bytes, shadow: bytes | None) -> str:
    """agree, differ or error for one mirrored pair."""
    theirs = None if shadow is None else text_of(shadow)
    if theirs is None:
        return "error"
    return "agree" if theirs == text_of(served) else "differ"


class Shadower:
    """Starts mirrors and keeps their tasks (so none is garbage-collected mid-flight)."""

    def __init__(
        self,
        mirror: Mirror,
        metrics: RouterMetrics,
        clock: Callable[[], float],
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._mirror = mirror
        self._metrics = metrics
        self._clock = clock
        self._max = max_in_flight
        self.tasks: set[asyncio.Task[None]] = set()

    def start(
        self,
        config: RouterConfig,
        route: Route,
        target: tuple[str, str],
        path: str,
        body: Mapping[str, Any],
        served: bytes,
    ) -> None:
        """Mirror one answered request to ``target`` (backend, revision); the caller drew the
        sample."""
        backend, revision = target
        if len(self.tasks) >= self._max:
            self._metrics.shadow.labels(route.name, backend, revision, "dropped").inc()
            return
        coro = self._run(config, route, backend, revision, path, body, served)
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(
        self,
        config: RouterConfig,
        route: Route,
        backend: str,
        revision: str,
        path: str,
        body: Mapping[str, Any],
        served: bytes,
    ) -> None:
        started = self._clock()
        deadline = started + config.defaults.request_timeout_seconds
        try:
            answer: bytes | None = await self._mirror(
                config, route, backend, revision, path, body, deadline
            )
        except LookupError:  # no endpoint yet: nothing was judged
            self._metrics.shadow.labels(route.name, backend, revision, "dropped").inc()
            return
        except Exception:  # a mirror must never take the router down
            answer = None
        latency = self._clock() - started
        self._metrics.shadow_latency.labels(route.name, backend, revision).observe(latency)
        self._metrics.shadow.labels(route.name, backend, revision, verdict(served, answer)).inc()


def mirror_targets(route: Route, served_by: Backend | None) -> list[tuple[str, str, float]]:
    """(backend, revision, percent) a served request may be mirrored to: the route's shadow
    backend, and the shadow-step canary of the backend that answered."""
    targets = [(route.shadow.backend, "", route.shadow.percent)] if route.shadow else []
    if served_by is not None:
        targets += [
            (served_by.name, split.revision, split.mirror_percent)
            for split in served_by.revisions
            if split.mirror_percent > 0
        ]
    return targets
