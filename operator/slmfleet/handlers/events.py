"""Kubernetes Events for condition transitions, one per change, posted through kopf."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import kopf

from slmfleet.conditions import Transition
from slmfleet.redact import redact

MAX_MESSAGE = 1024


def post_transitions(body: Mapping[str, Any], transitions: Iterable[Transition]) -> None:
    for t in transitions:
        text = redact(t.message)
        message = f"{t.type}={t.status}: {text}" if text else f"{t.type}={t.status}"
        kopf.event(
            cast(kopf.Body, body),
            type="Warning" if t.warning else "Normal",
            reason=t.reason,
            message=message[:MAX_MESSAGE],
        )
