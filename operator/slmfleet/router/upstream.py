"""What one upstream attempt returns (Reply), the router's own error replies, URLs and headers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from slmfleet.router.config import Backend
from slmfleet.router.errors import ErrorKind, failure_status, openai_error

# Upstream statuses that say "this endpoint cannot take the request", not "this request failed":
# a proxy in front of a pod that is gone (502) or an engine that is not serving (503).
SAFE_RETRY_STATUSES = frozenset({502, 503})


def _noop() -> None:
    return None


@dataclass
class Reply:
    """What goes back to the client: an upstream answer, an open stream, or a router error.

    For an open stream, ``body`` holds the first chunk (already read, so a backend that fails
    before its first byte can still be retried elsewhere). ``retry_reason`` is set on failures
    that reached the client with nothing, so another endpoint may safely take the request.
    ``retry_after`` is the upstream's Retry-After header (a 429 or 503 saying when to come
    back), passed on to the client with the answer.
    """

    status: int
    body: bytes = b""
    backend: Backend | None = None
    content_type: str = "application/json"
    error_kind: ErrorKind | None = None
    stream: aiohttp.ClientResponse | None = None
    finish: Callable[[], None] = field(default=_noop)
    revision: str = ""
    retry_reason: str | None = None
    retry_after: str = ""

    @property
    def ok(self) -> bool:
        """True for a 2xx upstream answer."""
        return 200 <= self.status < 300


def router_error(kind: ErrorKind, message: str, backend: Backend | None = None) -> Reply:
    """A Reply carrying the router's own OpenAI-shaped error."""
    body = json.dumps(openai_error(message, kind)).encode()
    return Reply(status=failure_status(kind), body=body, backend=backend, error_kind=kind)


def lost_backend(backend: Backend, reason: str, message: str) -> Reply:
    """A connection-level failure before any byte of an answer: safe to retry elsewhere."""
    reply = router_error(ErrorKind.CONNECT, message, backend)
    reply.retry_reason = reason
    return reply


def target_url(backend: Backend, endpoint: str | None, path: str) -> str:
    """Full upstream URL: `http://host:port/v1/...` or the external base URL + `/...`."""
    if backend.url is not None:
        return backend.url.rstrip("/") + path.removeprefix("/v1")
    return f"http://{endpoint}{path}"


def upstream_headers(backend: Backend, env: Mapping[str, str]) -> dict[str, str]:
    """Headers for the upstream call; external backends get `Authorization: Bearer <key>`."""
    headers = {"Content-Type": "application/json"}
    if backend.api_key_env is not None and env.get(backend.api_key_env):
        headers["Authorization"] = f"Bearer {env[backend.api_key_env]}"
    return headers
