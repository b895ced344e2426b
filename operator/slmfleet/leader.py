"""Leader election with a coordination.k8s.io Lease, as controller-runtime does it.

With two or more operator replicas, each waits to hold the Lease before it starts kopf; the holder
renews it every third of its duration. A standby takes the Lease over once the holder has not
renewed it for the whole duration (it crashed or was killed), so the work continues within about
one duration. A holder that cannot renew in time exits: it can no longer be sure it is alone.
The decision (`claim`) is pure; `Elector` does the API calls.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException

from slmfleet.k8s import Kube

log = logging.getLogger(__name__)

LEASE_NAME = "slmfleet-operator"
DURATION_SECONDS = 15


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Claim:
    """What to write to take or keep the Lease (None: someone else holds it)."""

    spec: dict[str, Any]


def claim(
    lease: Mapping[str, Any] | None, me: str, now: datetime, duration: int = DURATION_SECONDS
) -> Claim | None:
    """The Lease spec that makes ``me`` the holder, or None while another holder's Lease is
    fresh."""
    spec = dict((lease or {}).get("spec") or {})
    holder = spec.get("holderIdentity")
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    length = int(spec.get("leaseDurationSeconds") or duration)
    fresh = renewed is not None and renewed + timedelta(seconds=length) > now
    if holder and holder != me and fresh:
        return None
    out = {"holderIdentity": me, "leaseDurationSeconds": duration, "renewTime": _stamp(now)}
    if holder != me:
        out["acquireTime"] = _stamp(now)
        out["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if holder else 0)
    return Claim(out)


class Elector:
    """Acquire the Lease (blocking), then keep renewing it in a daemon thread."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        me: str,
        duration: int = DURATION_SECONDS,
        on_lost: Callable[[], None] = lambda: os._exit(1),
    ) -> None:
        self.kube, self.namespace, self.me, self.duration = kube, namespace, me, duration
        self.on_lost = on_lost

    def try_once(self) -> bool:
        """One attempt to take or renew the Lease; True when ``me`` holds it now."""
        lease = self.kube.get("Lease", LEASE_NAME, self.namespace)
        wanted = claim(lease, self.me, datetime.now(UTC), self.duration)
        if wanted is None:
            return False
        try:
            if lease is None:
                meta = {"name": LEASE_NAME, "namespace": self.namespace}
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta}
                self.kube.create({**body, "spec": wanted.spec})
            else:
                version = lease["metadata"]["resourceVersion"]
                patch = {"metadata": {"resourceVersion": version}, "spec": wanted.spec}
                self.kube.merge_patch("Lease", LEASE_NAME, patch, self.namespace)
        except ApiException as err:
            if err.status in (409, 422):  # another replica wrote first
                return False
            raise
        return True

    def acquire(self) -> None:
        log.info("waiting to lead (Lease %s/%s) as %s", self.namespace, LEASE_NAME, self.me)
        while not self._attempt():
            time.sleep(self.duration / 5)
        log.info("leading as %s", self.me)
        threading.Thread(target=self._renew, name="lease-renewal", daemon=True).start()

    def _attempt(self) -> bool:
        try:
            return self.try_once()
        except Exception as err:  # the API server briefly away: try again
            log.warning("lease attempt failed: %s", err)
            return False

    def _renew(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(self.duration / 3)
            if self._attempt():
                last = time.monotonic()
            elif time.monotonic() - last > self.duration * 2 / 3:
                log.error("lost the Lease %s/%s; exiting", self.namespace, LEASE_NAME)
                self.on_lost()
                return


class StandbyHealth:
    """Answers the liveness probe while a standby waits (kopf serves it once leading)."""

    def __init__(self, url: str | None) -> None:
        self.server: Any = None
        if url:
            from http.server import BaseHTTPRequestHandler, HTTPServer
            from urllib.parse import urlsplit

            class Ok(BaseHTTPRequestHandler):
                def do_GET(self) -> None:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"{}")

                def log_message(self, *_: Any) -> None:
                    return

            parts = urlsplit(url)
            self.server = HTTPServer((parts.hostname or "0.0.0.0", parts.port or 8080), Ok)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
