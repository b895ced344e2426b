"""Kubernetes Events through kopf's poster, at most a few per object a minute.

An Event is posted for each condition transition and each rollout step. Conditions of a model
that flaps (a crash-looping pod, a GPUClass edited in a loop) must not flood the API server, so
each object gets ``BURST`` transition Events per ``WINDOW_SECONDS`` (25, as Kubernetes' own event
spam filter) and the rest are logged only. Rollout steps are never dropped: the state machine
bounds them (one per step, analysis or request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import kopf

from slmfleet.conditions import Transition
from slmfleet.redact import redact

log = logging.getLogger(__name__)

MAX_MESSAGE = 1024
BURST = 25
WINDOW_SECONDS = 60.0


class EventPoster:
    """Posts Events per object within a rate limit (see the module doc)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.dropped = 0

    def allow(self, uid: str) -> bool:
        now = self._clock()
        with self._lock:
            sent = self._sent.setdefault(uid, deque())
            while sent and now - sent[0] > WINDOW_SECONDS:
                sent.popleft()
            if len(sent) >= BURST:
                self.dropped += 1
                return False
            sent.append(now)
            return True

    def forget(self, uid: str) -> None:
        with self._lock:
            self._sent.pop(uid, None)

    def post(
        self, body: Mapping[str, Any], type_: str, reason: str, message: str, limited: bool = True
    ) -> None:
        meta = body.get("metadata") or {}
        if limited and not self.allow(str(meta.get("uid") or meta.get("name"))):
            log.info(
                "event not posted (rate limit) on %s: %s %s", meta.get("name"), reason, message
            )
            return
        text = redact(message)[:MAX_MESSAGE]  # no header value or token ever reaches an Event
        kopf.event(cast(kopf.Body, body), type=type_, reason=reason, message=text)


def transition_message(t: Transition) -> str:
    text = redact(t.message)
    return f"{t.type}={t.status}: {text}" if text else f"{t.type}={t.status}"


def post_transitions(
    body: Mapping[str, Any], transitions: Iterable[Transition], poster: EventPoster | None = None
) -> None:
    for t in transitions:
        type_ = "Warning" if t.warning else "Normal"
        if poster is None:
            kopf.event(cast(kopf.Body, body), type=type_, reason=t.reason,
                       message=transition_message(t)[:MAX_MESSAGE])  # fmt: skip
        else:
            poster.post(body, type_, t.reason, transition_message(t))
