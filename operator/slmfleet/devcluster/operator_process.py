"""The operator as its own process against the local cluster, as it runs in a real one.

Used by the demo and the test fixtures: started with `slmfleet run`, ready once kopf's liveness
endpoint answers, stopped with SIGTERM (SIGKILL after a grace period), and restartable, so tests
can check what survives an operator restart.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from slmfleet.devcluster.processes import ManagedProcess, free_port, wait_until
from slmfleet.devcluster.prometheus import write_operator_target


def _live(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
        return bool(resp.status == 200)


class OperatorProcess:
    """One `slmfleet run` process at a time; ``start``/``stop``/``restart``."""

    def __init__(
        self,
        kubeconfig: Path,
        logs: Path,
        env: Mapping[str, str] | None = None,
        scope: Sequence[str] = ("--all-namespaces",),
        metrics_target: Path | None = None,
    ) -> None:
        """``metrics_target``: the dev Prometheus's file_sd file of the operator job; given, the
        operator serves its metrics on a free port and Prometheus scrapes it."""
        self.kubeconfig = kubeconfig
        self.metrics_target = metrics_target
        self.logs = logs
        self.env = dict(env or {})
        self.scope = list(scope)  # `--all-namespaces`, or `--namespace=NS` options
        self.process: ManagedProcess | None = None
        self.starts = 0
        self.metrics_address: str | None = None  # host:port of /metrics, with metrics_target

    def start(self, timeout: float = 60.0) -> ManagedProcess:
        if self.process is not None and self.process.alive():
            raise RuntimeError("the operator is already running")
        port = free_port()
        liveness = f"http://127.0.0.1:{port}/healthz"
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HF_HUB_OFFLINE": "1",  # the local cluster never reaches the Hub
            **self.env,
        }
        self.starts += 1
        argv = [sys.executable, "-m", "slmfleet.cli.main", "run", *self.scope,
                "--liveness", liveness]  # fmt: skip
        if self.metrics_target is not None:
            address = f"127.0.0.1:{free_port()}"
            argv += ["--metrics", address]
            write_operator_target(self.metrics_target, address)
            self.metrics_address = address
        log = self.logs / f"operator-{self.starts}.log"
        self.process = ManagedProcess("slmfleet-operator", argv, log, env).start()
        wait_until("the operator's liveness endpoint", lambda: _live(liveness), timeout,
                   self.process)  # fmt: skip
        return self.process

    def stop(self, grace: float = 20.0) -> None:
        if self.process is not None:
            self.process.stop(grace=grace)
            self.process = None

    def restart(self) -> ManagedProcess:
        self.stop()
        return self.start()

    def check(self) -> None:
        """Raise ComponentDiedError (with its last log lines) if the operator has exited."""
        if self.process is not None:
            self.process.check()
