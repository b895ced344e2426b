"""Kubernetes Events, posted by the operator itself, at most a few per object a minute.

An Event is posted for each condition transition and each rollout step. Conditions of a model
that flaps (a crash-looping pod, a GPUClass edited in a loop) must not flood the API server, so
each object gets ``BURST`` transition Events per ``WINDOW_SECONDS`` (25, as Kubernetes' own event
spam filter) and the rest are logged only. Rollout steps are never dropped: the state machine
bounds them (one per step, analysis or request).

Each Event is one create, tried once from the worker that decided it: one that cannot be posted
(its namespace is being deleted, the API is down) is logged, never retried in a loop, and never
holds the work up. Events of cluster-scoped objects go to the ``default`` namespace, as kubectl
looks for them there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from slmfleet.conditions import Transition, reported
from slmfleet.k8s import Kube
from slmfleet.redact import redact
from slmfleet.timefmt import format_time

log = logging.getLogger(__name__)

MAX_MESSAGE = 1024
BURST = 25
WINDOW_SECONDS = 60.0
COMPONENT = "slmfleet"


def event_body(
    obj: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime
) -> dict[str, Any]:
    """A core v1 Event about ``obj`` (pure)."""
    meta = obj.get("metadata") or {}
    stamp = format_time(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{meta.get('name')}.",
            "namespace": meta.get("namespace") or "default",
        },
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "type": type_,
        "reason": reason,
        "message": redact(message)[:MAX_MESSAGE],  # no header value or token reaches an Event
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventPoster:
    """Posts Events per object within a rate limit (see the module doc)."""

    def __init__(self, kube: Kube | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._kube = kube
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._swept = clock()
        self._lock = threading.Lock()
        self.dropped = 0
        self.failed = 0

    def allow(self, uid: str) -> bool:
        now = self._clock()
        with self._lock:
            if now - self._swept > WINDOW_SECONDS:
                self._sweep(now)
            sent = self._sent.setdefault(uid, deque())
            while sent and now - sent[0] > WINDOW_SECONDS:
                sent.popleft()
            if len(sent) >= BURST:
                self.dropped += 1
                return False
            sent.append(now)
            return True

    def tracked(self) -> int:
        with self._lock:
            return len(self._sent)

    def _sweep(self, now: float) -> None:
        """Forget objects with no Event within the window (deleted ones among them)."""
        for uid in [
            u for u, sent in self._sent.items() if not sent or now - sent[-1] > WINDOW_SECONDS
        ]:
            del self._sent[uid]
        self._swept = now

    def post(
        self, body: Mapping[str, Any], type_: str, reason: str, message: str, limited: bool = True
    ) -> None:
        meta = body.get("metadata") or {}
        if limited and not self.allow(str(meta.get("uid") or meta.get("name"))):
            log.info(
                "event not posted (rate limit) on %s: %s %s", meta.get("name"), reason, message
            )
            return
        if self._kube is None:
            return
        try:
            self._kube.create(event_body(body, type_, reason, message, datetime.now(UTC)))
        except ApiException as err:
            self.failed += 1
            terminating = err.status == 403 and "NamespaceTerminating" in str(err.body)
            level = logging.DEBUG if terminating or err.status == 404 else logging.WARNING
            log.log(level, "event %s on %s not posted: %s", reason, meta.get("name"), err.reason)


def post_transitions(
    body: Mapping[str, Any], transitions: Sequence[Transition], poster: EventPoster
) -> None:
    """One Event for the transitions of one reconcile (``conditions.reported``)."""
    for r in reported(transitions):
        poster.post(body, "Warning" if r.warning else "Normal", r.reason, r.message)
