"""One watch loop for the local cluster's helpers (pod backer, volume provisioner)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

log = logging.getLogger(__name__)


def watch_forever(
    stop: threading.Event,
    resync: Callable[[], str],
    list_call: Callable[..., Any],
    on_event: Callable[[str, dict[str, Any]], None],
    what: str,
) -> None:
    """List (``resync`` handles the listing and returns its version), then watch from there,
    until ``stop``; a watch ends every 30 s and begins again with a fresh list."""
    while not stop.is_set():
        stream = watch.Watch()
        try:
            version = resync()
            for event in stream.stream(
                list_call, resource_version=version, timeout_seconds=30, _request_timeout=40
            ):
                if stop.is_set():
                    break
                on_event(event["type"], event["raw_object"])
        except Exception as err:
            if not stop.is_set():
                log.debug("%s watch restarted: %s", what, err)
                stop.wait(0.5)
        finally:
            stream.stop()
