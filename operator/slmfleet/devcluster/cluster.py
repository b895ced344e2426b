"""The local cluster: control plane, fake GPU nodes, pod backer and Prometheus, started and stopped as one."""

from __future__ import annotations

import logging
import random
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from kubernetes import client, config

from slmfleet.devcluster.controlplane import Endpoints, start_control_plane
from slmfleet.devcluster.nodes import DEMO_NODES, FakeGPUNode, node_manifest, pod_cidr
from slmfleet.devcluster.podbacker import PodBacker
from slmfleet.devcluster.processes import ComponentDiedError, ProcessSet, wait_until
from slmfleet.devcluster.prometheus import start_prometheus, targets_path
from slmfleet.devcluster.volumes import VolumeProvisioner

log = logging.getLogger(__name__)


def free_pod_block(nodes: int, tries: int = 64) -> int:
    """A random pod-address block whose first addresses are free on this machine, so clusters
    started side by side (parallel test runs) never hand out the same pod IPs."""
    for _ in range(tries):
        block = random.randrange(256)
        if all(_bindable(pod_cidr(i, block).split("/")[0]) for i in range(nodes)):
            return block
    raise ComponentDiedError("no free loopback block for pod addresses")


def _bindable(network: str) -> bool:
    first = network.rsplit(".", 1)[0]
    with socket.socket() as sock:
        try:
            sock.bind((f"{first}.0", 8000))
        except OSError:
            return False
    return True


class DevCluster:
    """Start with ``start()`` (or ``with DevCluster(...) as cluster``); ``stop()`` ends every PID it began."""

    def __init__(
        self,
        nodes: Sequence[FakeGPUNode] = DEMO_NODES,
        workdir: Path | None = None,
        prometheus: bool = True,
        keep_workdir: bool = False,
        hub_endpoint: str | None = None,
    ) -> None:
        self.hub_endpoint = hub_endpoint
        self.nodes = tuple(nodes)
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="slmfleet-dev-"))
        self.want_prometheus = prometheus
        self.keep_workdir = keep_workdir
        self.procs = ProcessSet()
        self.endpoints: Endpoints | None = None
        self.prometheus_url: str | None = None
        self.backer: PodBacker | None = None
        self.volumes: VolumeProvisioner | None = None
        self._api: client.ApiClient | None = None

    @property
    def kubeconfig(self) -> Path:
        if self.endpoints is None:
            raise RuntimeError("the cluster is not started")
        return self.endpoints.kubeconfig

    def api_client(self) -> client.ApiClient:
        """A kubernetes ApiClient for this cluster (one per cluster)."""
        if self._api is None:
            self._api = config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api

    def start(self, timeout: float = 90.0) -> DevCluster:
        started = time.monotonic()
        try:
            self.endpoints = start_control_plane(self.workdir, self.procs, timeout)
            core = client.CoreV1Api(self.api_client())
            block = free_pod_block(len(self.nodes))
            for index, node in enumerate(self.nodes):
                core.create_node(node_manifest(node, index, block))
            wait_until("nodes Ready", lambda: self._nodes_ready(core), timeout)
            self.procs.check()
            wait_until(
                "default ServiceAccount",
                lambda: bool(core.read_namespaced_service_account("default", "default")),
                timeout,
            )
            targets = targets_path(self.workdir) if self.want_prometheus else None
            if targets is not None:
                targets.parent.mkdir(parents=True, exist_ok=True)
            self.backer = PodBacker(
                self.api_client(), self.workdir, self.kubeconfig, targets, self.hub_endpoint
            )
            self.backer.start()
            self.volumes = VolumeProvisioner(self.api_client(), self.workdir / "volumes").start()
            if self.want_prometheus:
                self.prometheus_url = start_prometheus(self.workdir, self.procs)
        except BaseException:
            self.stop()
            raise
        log.info("dev cluster ready in %.1fs at %s", time.monotonic() - started, self.workdir)
        return self

    def _nodes_ready(self, core: client.CoreV1Api) -> bool:
        items = core.list_node().items
        ready = [
            n
            for n in items
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]
        return len(ready) == len(self.nodes)

    def check(self) -> None:
        """Raise ComponentDiedError naming the first component that has exited, with its last log lines."""
        self.procs.check()
        if self.backer is not None and self.backer.errors:
            # Reported once: the test that saw them fails, the ones after it start clean.
            errors, self.backer.errors = self.backer.errors, []
            raise ComponentDiedError(f"pod backer errors: {errors}")

    def pids(self) -> dict[str, int]:
        return self.procs.pids()

    def stop(self) -> None:
        if self.volumes is not None:
            self.volumes.stop()
            self.volumes = None
        if self.backer is not None:
            self.backer.stop()
            self.backer = None
        self.procs.stop_all()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._own_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> DevCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
