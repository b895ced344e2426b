"""Closed-loop load through one URL, counting every outcome by status code and exception class.

``concurrency`` workers each send one request, wait for its whole answer, and send the next, until
``max_requests`` have been sent, ``max_seconds`` have passed, or ``stop()`` is called. Outcomes are
tallied per phase (``mark("promote")`` starts a new one), so a test can keep load running across
several operations and say which one lost requests. A streaming answer counts as 200 only when it
ends with ``data: [DONE]``; one cut short counts as ``IncompleteStream``.

    load = ClosedLoop(url, body, concurrency=12, max_seconds=120).start()
    load.mark("promote"); ...; tallies = load.stop()
    assert sum(t.failed for t in tallies.values()) == 0, describe(tallies)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

DONE = b"data: [DONE]"


@dataclass
class Tally:
    """Outcomes of one phase: HTTP status codes, and exception class names for no answer."""

    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())

    @property
    def failed(self) -> int:
        """Everything but a 2xx answer."""
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.exceptions.values())

    def describe(self) -> str:
        parts = [f"{code}: {n}" for code, n in sorted(self.statuses.items())]
        parts += [f"{name}: {n}" for name, n in sorted(self.exceptions.items())]
        return f"{self.total} requests, {self.failed} failed ({', '.join(parts) or 'none'})"


def describe(tallies: Mapping[str, Tally]) -> str:
    """One line per phase."""
    return "\n".join(f"{phase}: {tally.describe()}" for phase, tally in tallies.items())


class ClosedLoop:
    """Closed-loop load; ``run()`` in a running event loop, or ``start()``/``stop()`` a thread."""

    def __init__(
        self,
        url: str,
        body: Mapping[str, Any],
        *,
        concurrency: int = 8,
        max_requests: int | None = None,
        max_seconds: float | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.url, self.body = url, dict(body)
        self.concurrency = concurrency
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.headers = dict(headers or {})
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._phase = "start"
        self._tallies: dict[str, Tally] = {"start": Tally()}
        self._sent = 0
        self._thread: threading.Thread | None = None

    def mark(self, phase: str) -> None:
        """Count the outcomes of requests sent from now on under ``phase``."""
        with self._lock:
            self._phase = phase
            self._tallies.setdefault(phase, Tally())

    def tallies(self) -> dict[str, Tally]:
        """A copy of the tallies so far, by phase in the order phases began."""
        with self._lock:
            return {
                p: Tally(Counter(t.statuses), Counter(t.exceptions))
                for p, t in self._tallies.items()
            }

    def _next(self, deadline: float | None) -> str | None:
        """The phase of the next request to send, or None when the load is over."""
        with self._lock:
            over = self.max_requests is not None and self._sent >= self.max_requests
            late = deadline is not None and self._clock() >= deadline
            if over or late or self._stop.is_set():
                return None
            self._sent += 1
            return self._phase

    def _record(self, phase: str, status: int | None, error: str | None) -> None:
        with self._lock:
            tally = self._tallies[phase]
            if error is not None:
                tally.exceptions[error] += 1
            elif status is not None:
                tally.statuses[status] += 1

    async def _one(self, session: aiohttp.ClientSession) -> tuple[int | None, str | None]:
        try:
            async with session.post(self.url, json=self.body, headers=self.headers) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, type(exc).__name__
        if self.body.get("stream") and response.status == 200 and DONE not in raw:
            return None, "IncompleteStream"
        return response.status, None

    async def _worker(self, session: aiohttp.ClientSession, deadline: float | None) -> None:
        while (phase := self._next(deadline)) is not None:
            status, error = await self._one(session)
            self._record(phase, status, error)

    async def run(self) -> dict[str, Tally]:
        """Send the load until it is over; the tallies by phase."""
        deadline = None if self.max_seconds is None else self._clock() + self.max_seconds
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=self.timeout, trust_env=False
        ) as session:
            workers = [self._worker(session, deadline) for _ in range(self.concurrency)]
            await asyncio.gather(*workers)
        return self.tallies()

    def start(self) -> ClosedLoop:
        """Run in a thread of its own until it is over or ``stop()``."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, Tally]:
        """Send no more; wait for the requests in flight to finish; the tallies by phase."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.tallies()

    def wait(self) -> dict[str, Tally]:
        """Wait until the load is over by itself (count or time); the tallies by phase."""
        if self._thread is not None:
            self._thread.join()
        return self.tallies()


class OpenLoop(ClosedLoop):
    """Open-loop load: requests start at a fixed ``rate`` per second, round robin over ``urls``,
    whether or not earlier ones have answered. At most ``max_outstanding`` are in flight; a start
    that would pass it is not sent and counted in ``not_sent`` by phase (the generator or the
    machine could not keep up), not in the tallies."""

    def __init__(
        self,
        urls: list[str],
        body: Mapping[str, Any],
        *,
        rate: float,
        max_requests: int | None = None,
        max_outstanding: int = 2048,
        timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or not urls:
            raise ValueError("an open loop needs a positive rate and at least one URL")
        super().__init__(urls[0], body, max_requests=max_requests, timeout=timeout, clock=clock)
        self.urls, self.rate, self.max_outstanding = list(urls), rate, max_outstanding
        self.not_sent: Counter[str] = Counter()

    async def _send(self, session: aiohttp.ClientSession, url: str, phase: str) -> None:
        try:
            async with session.post(url, json=self.body) as response:
                await response.read()
                status: int | None = response.status
                error = None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            status, error = None, type(exc).__name__
        self._record(phase, status, error)

    async def run(self) -> dict[str, Tally]:
        connector = aiohttp.TCPConnector(limit=self.max_outstanding)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(
            connector=connector, timeout=self.timeout, trust_env=False
        ) as session:
            began, sent = self._clock(), 0
            while (phase := self._next(None)) is not None:
                due = began + sent / self.rate
                await asyncio.sleep(max(0.0, due - self._clock()))
                url = self.urls[sent % len(self.urls)]
                sent += 1
                if len(tasks) >= self.max_outstanding:
                    with self._lock:
                        self.not_sent[phase] += 1
                    continue
                task = asyncio.create_task(self._send(session, url, phase))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
        return self.tallies()
