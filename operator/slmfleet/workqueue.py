"""One scheduler for the whole fleet: keys with due times, drained by a bounded worker pool.

The controller-runtime workqueue in Python. Watch events enqueue a key (a model, a namespace's
routing, a GPU class) to run now; a handler returns when its key is next due (an analysis, the
end of a pause, a deadline, the slow resync) and the key sleeps in a heap until then. An idle
fleet costs nothing but the heap. Duplicate keys collapse to the earliest due time, a key is
never handled twice at once (an event during a run marks it dirty and it runs again right
after), and a key whose handler raised is retried with exponential backoff.

A key leaves the heap only when a worker is free to run it, as in controller-runtime: while a
burst (a thousand models created at once) waits, every further event of a waiting key
collapses into it, instead of queueing one more run behind the burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

Key = tuple[str, ...]
Handler = Callable[[Key], float | None]
"""Handles one key; returns the seconds until the key is due again, or None for never."""

MAX_BACKOFF_SECONDS = 300.0


class DueQueue:
    """Keys by due time (pure; not thread-safe). Re-adding a key keeps its earliest due time."""

    def __init__(self) -> None:
        self._due: dict[Key, float] = {}
        self._heap: list[tuple[float, Key]] = []

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def add(self, key: Key, at: float) -> None:
        if key in self._due and self._due[key] <= at:
            return
        self._due[key] = at
        heapq.heappush(self._heap, (at, key))

    def discard(self, key: Key) -> None:
        self._due.pop(key, None)  # its heap entry goes stale and is skipped

    def _drop_stale(self) -> None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def next_due(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int | None = None) -> list[Key]:
        """Keys due at ``now`` or earlier, earliest first: every one, or at most ``limit``."""
        out: list[Key] = []
        while limit is None or len(out) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return out
            _, key = heapq.heappop(self._heap)
            del self._due[key]
            out.append(key)
        return out


def backoff_seconds(failures: int) -> float:
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, failures - 1)))


class Scheduler:
    """Runs handlers by key kind (``key[0]``) on a thread pool, as keys fall due."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handlers = dict(handlers)
        self._clock = clock
        self._queue = DueQueue()
        self._busy: set[Key] = set()
        self._dirty: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slmfleet-worker")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.handled = 0

    @property
    def depth(self) -> int:
        """Keys scheduled, due or not, plus those being handled."""
        return len(self._queue) + len(self._busy)

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        """Schedule ``key`` in ``delay`` seconds (or sooner if it is already due sooner)."""
        loop = self._loop
        if loop is None:  # not running yet: the key waits for the start
            self._queue.add(key, self._clock() + delay)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._add(key, delay)
        else:
            loop.call_soon_threadsafe(self._add, key, delay)

    def ensure(self, key: Key, delay: float) -> None:
        """Schedule ``key`` in ``delay`` seconds unless it is already scheduled or running (a
        periodic key is started once, not hurried by every event)."""
        loop = self._loop
        if loop is None:
            if key not in self._queue:
                self._queue.add(key, self._clock() + delay)
            return
        loop.call_soon_threadsafe(self._ensure, key, delay)

    def _ensure(self, key: Key, delay: float) -> None:
        if key not in self._queue and key not in self._busy:
            self._add(key, delay)

    def _add(self, key: Key, delay: float) -> None:
        if key in self._busy and delay <= 0:
            self._dirty.add(key)
            return
        self._queue.add(key, self._clock() + delay)
        if self._wake is not None:
            self._wake.set()

    def _work(self, key: Key) -> float | None:
        return self._handlers[key[0]](key)

    def _done(self, key: Key, future: Future[float | None]) -> None:
        self._busy.discard(key)
        error = future.exception()
        if error is not None:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay: float | None = backoff_seconds(failures)
            log.warning("handling %s failed (%d in a row), again in %.0fs: %r",
                        "/".join(key), failures, delay, error)  # fmt: skip
        else:
            self._failures.pop(key, None)
            delay = future.result()
            self.handled += 1
        if key in self._dirty:
            self._dirty.discard(key)
            delay = 0.0
        if delay is not None:
            self._add(key, delay)
        elif self._wake is not None:
            self._wake.set()

    def _notify(self, key: Key) -> Callable[[Future[float | None]], None]:
        loop = self._loop
        assert loop is not None

        def done(future: Future[float | None]) -> None:
            if not loop.is_closed():  # the operator is stopping: nothing is scheduled again
                loop.call_soon_threadsafe(self._done, key, future)

        return done

    async def run(self) -> None:
        """Drain due keys until cancelled; the handlers run with this task's context."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while True:
                self._wake.clear()
                free = self._workers - len(self._busy)
                for key in self._queue.pop_due(self._clock(), max(0, free)):
                    if key in self._busy:
                        self._dirty.add(key)
                        continue
                    self._busy.add(key)
                    context = contextvars.copy_context()
                    future = self._pool.submit(context.run, self._work, key)
                    future.add_done_callback(self._notify(key))
                due = self._queue.next_due()
                timeout = None if due is None else max(0.0, due - self._clock())
                if len(self._busy) >= self._workers:
                    timeout = None  # a finishing key wakes the loop (_done)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
