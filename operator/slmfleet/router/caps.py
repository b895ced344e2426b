"""The router's resource caps: request body size and read time, concurrent and held requests,
upstream response size. Each is a RouterDefaults field the operator renders from its settings
(chart values `routerLimits`), so one client cannot exhaust a router's memory or connections.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from aiohttp import web

_READ_CHUNK = 64 * 1024


class BodyTooLargeError(Exception):
    """The body is larger than its cap."""


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The request body; BodyTooLargeError past ``limit`` bytes, TimeoutError past ``timeout`` s."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLargeError
    buffer = bytearray()

    async def read() -> None:
        async for chunk in request.content.iter_chunked(_READ_CHUNK):
            buffer.extend(chunk)
            if len(buffer) > limit:
                raise BodyTooLargeError

    await asyncio.wait_for(read(), timeout)
    return bytes(buffer)


async def read_response(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """An upstream body; BodyTooLargeError past ``limit`` bytes (the rest is never buffered)."""
    if response.content_length is not None and response.content_length > limit:
        raise BodyTooLargeError
    buffer = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        buffer.extend(chunk)
        if len(buffer) > limit:
            raise BodyTooLargeError
    return bytes(buffer)


@dataclass
class Gate:
    """At most ``limit`` holders at once; ``enter`` says whether there was room."""

    active: int = 0

    def enter(self, limit: int) -> bool:
        if self.active >= limit:
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1
