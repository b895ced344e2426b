"""Where the router gets its config: a fixed snapshot, or a file reloaded when it changes.

A source hands out immutable RouterConfig snapshots. Reloading swaps the reference; requests
already running keep the snapshot they started with. Discovery can provide its own source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from slmfleet.router.config import RouterConfig, load_config

log = logging.getLogger(__name__)

ReloadListener = Callable[[bool], None]


class ConfigSource(Protocol):
    """Anything that can hand the router its current config snapshot."""

    def current(self) -> RouterConfig:
        """The newest valid config."""
        ...

    async def start(self) -> None:
        """Begin watching for changes."""
        ...

    async def stop(self) -> None:
        """Stop watching."""
        ...


class StaticConfigSource:
    """A config held in memory; `replace` swaps in a new snapshot (tests, discovery)."""

    def __init__(self, config: RouterConfig) -> None:
        self._config = config

    def current(self) -> RouterConfig:
        return self._config

    def replace(self, config: RouterConfig) -> None:
        """Make `config` the snapshot new requests see."""
        self._config = config

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file (or the file a symlink points to) is replaced or rewritten."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class FileConfigSource:
    """A config file, polled for changes (mtime, size, inode) and reloadable on demand.

    An invalid or half-written file never replaces a good snapshot: the old one stays and the
    file is tried again once it changes. The first load must succeed.
    """

    def __init__(
        self,
        path: str | Path,
        poll_interval: float = 1.0,
        on_reload: ReloadListener | None = None,
    ) -> None:
        self.path = Path(path)
        self.poll_interval = poll_interval
        self._listeners: list[ReloadListener] = [on_reload] if on_reload else []
        self._attempted = _signature(self.path)
        self._config = load_config(self.path)
        self._task: asyncio.Task[None] | None = None

    def current(self) -> RouterConfig:
        return self._config

    def add_listener(self, listener: ReloadListener) -> None:
        """Call `listener(ok)` after every reload attempt."""
        self._listeners.append(listener)

    def reload(self) -> bool:
        """Read the file now; True when a new snapshot was swapped in."""
        self._attempted = _signature(self.path)
        try:
            config = load_config(self.path)
        except (OSError, ValueError, ValidationError) as exc:
            log.error("router config %s not reloaded, keeping the previous one: %s", self.path, exc)
            ok = False
        else:
            self._config = config
            log.info("router config %s reloaded (%d routes)", self.path, len(config.routes))
            ok = True
        for listener in self._listeners:
            listener(ok)
        return ok

    def poll_once(self) -> bool:
        """Reload when the file changed since the last attempt; True when it did reload."""
        signature = _signature(self.path)
        if signature is None or signature == self._attempted:
            return False
        return self.reload()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            self.poll_once()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._poll(), name="router-config-poll")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
