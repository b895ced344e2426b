"""Pass an upstream reply to the client: the headers that say who answered, and SSE streams.

A streamed reply is relayed chunk by chunk as each chunk arrives, after the first chunk that was
read before the reply was chosen; a client or backend that breaks mid-stream ends it quietly.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from slmfleet.router.upstream import Reply

BACKEND_HEADER = "x-slmfleet-backend"
REVISION_HEADER = "x-slmfleet-revision"
TIER_HEADER = "x-slmfleet-cascade-tier"
ESCALATIONS_HEADER = "x-slmfleet-escalations"
CASCADE_HEADER = "x-slmfleet-cascade"


def served_revision(reply: Reply) -> str:
    """The revision that answered (or was picked), else the backend's own."""
    if reply.revision:
        return reply.revision
    return reply.backend.revision if reply.backend is not None else ""


def backend_headers(reply: Reply) -> dict[str, str]:
    """The headers naming the backend (and revision) that answered, and its Retry-After (an
    upstream 429 goes back with when to try again); none without a backend."""
    if reply.backend is None:
        return {}
    headers = {BACKEND_HEADER: reply.backend.name}
    if reply.retry_after:
        headers["Retry-After"] = reply.retry_after
    revision = served_revision(reply)
    if revision:
        headers[REVISION_HEADER] = revision
    return headers


async def relay_stream(
    request: web.Request, reply: Reply, headers: dict[str, str], limit: int
) -> web.StreamResponse:
    """Pass an upstream SSE stream to the client chunk by chunk, as each chunk arrives; a stream
    longer than ``limit`` bytes is cut off there."""
    upstream = reply.stream
    if upstream is None:
        raise ValueError("reply has no stream")
    response = web.StreamResponse(
        status=reply.status,
        headers={**headers, "Content-Type": reply.content_type, "Cache-Control": "no-cache"},
    )
    try:
        await response.prepare(request)
        sent = len(reply.body)
        await response.write(reply.body)  # the first chunk, read before the reply was chosen
        async for chunk in upstream.content.iter_any():
            sent += len(chunk)
            if sent > limit:
                upstream.close()
                break
            await response.write(chunk)
        await response.write_eof()
    except (ConnectionError, aiohttp.ClientError, TimeoutError):
        # The client went away or the backend broke mid-stream; the status is already sent.
        upstream.close()
    finally:
        upstream.release()
    return response
