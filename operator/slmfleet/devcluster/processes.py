"""Start, watch and stop the local cluster's processes: exactly the PIDs we started, nothing else."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


class ComponentDiedError(RuntimeError):
    """A component exited or never became ready; the message names it and shows its last log lines."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it at random)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGKILL it when the thread that started it
    exits, so a killed test run or demo never leaves components behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


@dataclass
class ManagedProcess:
    """One child process with its own log file."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                self.popen = subprocess.Popen(
                    list(self.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
                )
            except OSError as err:
                raise ComponentDiedError(
                    f"{self.name} could not start ({self.argv[0]}): {err}"
                ) from err
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid if self.popen else -1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check(self) -> None:
        """Raise ComponentDiedError when the process has exited."""
        if self.popen is None:
            raise ComponentDiedError(f"{self.name} was never started")
        code = self.popen.poll()
        if code is not None:
            raise ComponentDiedError(
                f"{self.name} (pid {self.pid}) exited with code {code}; "
                f"last log lines from {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; only our own PID."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=grace)


@dataclass
class ProcessSet:
    """Every process a cluster started, stopped in reverse order."""

    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, proc: ManagedProcess) -> ManagedProcess:
        self.processes.append(proc.start())
        return proc

    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in self.processes}

    def check(self) -> None:
        for proc in self.processes:
            proc.check()

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def remove(self, proc: ManagedProcess) -> None:
        proc.stop()
        if proc in self.processes:
            self.processes.remove(proc)


def poll(what: str, probe: Callable[[], T], timeout: float = 60.0, interval: float = 0.3) -> T:
    """Call ``probe`` until it returns something truthy and return that; TimeoutError after
    ``timeout`` seconds, naming what was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def wait_until(
    what: str,
    probe: Callable[[], bool],
    timeout: float,
    proc: ManagedProcess | None = None,
    interval: float = 0.2,
) -> None:
    """Poll ``probe`` until it returns True; fail early if ``proc`` dies, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None:
            proc.check()
        with contextlib.suppress(Exception):
            if probe():
                return
        if time.monotonic() > deadline:
            tail = f"; last log lines:\n{log_tail(proc.log_path)}" if proc is not None else ""
            raise ComponentDiedError(f"{what} not ready after {timeout:.0f}s{tail}")
        time.sleep(interval)
