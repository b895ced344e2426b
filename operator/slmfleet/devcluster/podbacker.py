"""Back kwok pods with real processes: what the cluster reports as a pod's IP really answers.

A watch on pods starts, for each running pod that needs one (see backing.py), a local process on a
free loopback port and a TCP forwarder from ``podIP:containerPort`` to it. Pod IPs are loopback
addresses (each node's pod CIDR lies in 127.0.0.0/8), so the forwarder can listen on them directly.
A pod being deleted is ended the way a kubelet ends it (termination.py): preStop wait, SIGTERM,
SIGKILL after the grace period; its address keeps answering until the process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from slmfleet.devcluster.backing import Backing, backing_for
from slmfleet.devcluster.forwarding import forward_to
from slmfleet.devcluster.kwok_stages import (
    BACKED_ANNOTATION,
    SERVING_ANNOTATION,
    TERMINATED_ANNOTATION,
)
from slmfleet.devcluster.pod_process import Where, finished_status, missing_snapshot, process_argv
from slmfleet.devcluster.processes import ManagedProcess, free_port
from slmfleet.devcluster.prometheus import write_targets
from slmfleet.devcluster.termination import Termination, termination_of
from slmfleet.devcluster.watching import watch_forever
from slmfleet.k8s import Kube

log = logging.getLogger(__name__)


@dataclass
class BackedPod:
    key: str
    ip: str
    backing: Backing
    process: ManagedProcess
    local_port: int
    servers: list[asyncio.AbstractServer] = field(default_factory=list)


class PodBacker:
    """Watches pods through ``api`` and keeps one backing process per running pod that needs one."""

    def __init__(
        self,
        api: client.ApiClient,
        workdir: Path,
        kubeconfig: Path,
        targets_file: Path | None = None,
        hub_endpoint: str | None = None,
    ) -> None:
        self.hub_endpoint = hub_endpoint
        """With a Hub (stand-in), an engine without a weight cache downloads before it serves."""
        self._core = client.CoreV1Api(api)
        self._kube = Kube(api)
        self._targets_file = targets_file
        self._seen: dict[str, dict[str, Any]] = {}
        self._workdir = workdir
        self._kubeconfig = kubeconfig
        self._pods: dict[str, BackedPod] = {}
        self._terminating: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._watch_thread = threading.Thread(target=self._watch, daemon=True)
        self.errors: list[str] = []

    def start(self) -> None:
        self._loop_thread.start()
        self._watch_thread.start()

    def backed(self) -> dict[str, BackedPod]:
        with self._lock:
            return dict(self._pods)

    def kill(self, namespace: str, name: str, hard: bool = False) -> None:
        """Crash a pod's backing process (fault injection): its address stops answering.
        ``hard``: SIGKILL at once, as the OOM killer or a lost node would."""
        with self._lock:
            pod = self._pods.get(f"{namespace}/{name}")
        if pod is None:
            return
        if hard and pod.process.popen is not None:
            pod.process.popen.kill()
            pod.process.popen.wait()
        else:
            pod.process.stop(grace=0.5)

    def _watch(self) -> None:
        """List, forget what the list no longer holds, then watch from the list's version.

        A watch ends every 30 s; a pod deleted before the next one starts sends no DELETED event,
        so each round begins with a fresh list. Without it a stale forwarder would keep a deleted
        pod's address, and the pod that is given that address next could not be backed.
        """
        watch_forever(
            self._stop, self._resync, self._core.list_pod_for_all_namespaces, self._on_event, "pod"
        )

    def _resync(self) -> str:
        """Apply a full pod list as events, release pods missing from it; return its version."""
        response = self._core.list_pod_for_all_namespaces(_preload_content=False)
        listing = json.loads(response.data)
        present = set()
        for pod in listing.get("items") or []:
            meta = pod.get("metadata") or {}
            present.add(f"{meta.get('namespace')}/{meta.get('name')}")
            self._on_event("MODIFIED", pod)
        for key in set(self._seen) - present:
            self._track(key, None)
        for key in set(self.backed()) - present:
            self._release(key)
        return str(listing["metadata"]["resourceVersion"])

    def _on_event(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        status = pod.get("status") or {}
        ip = status.get("podIP")
        self._track(key, None if kind == "DELETED" else pod)
        if kind == "DELETED":
            self._release(key)  # a forced deletion (or a missed end) stops the process at once
            return
        if meta.get("deletionTimestamp"):
            self._begin_termination(key, pod)
            return
        with self._lock:
            existing = self._pods.get(key)
        if existing is not None and existing.ip != ip:
            self._release(key)
        if existing is not None and existing.ip == ip:
            return
        if not ip or status.get("phase") != "Running" or not ip.startswith("127."):
            return
        backing = backing_for(pod)
        if backing is None:
            if (meta.get("annotations") or {}).get(SERVING_ANNOTATION) != "true":
                self._mark_serving(meta, backed=False)
            return
        try:
            self._back(key, ip, backing)
        except Exception as err:  # report it, keep backing other pods
            self.errors.append(f"{key}: {err}")
            log.warning("could not back pod %s: %s", key, err)
            return
        threading.Thread(target=self._serve_when_listening, args=(key, meta), daemon=True).start()

    def _serve_when_listening(self, key: str, meta: dict[str, Any], timeout: float = 60.0) -> None:
        """Mark the pod serving (kwok then makes it Ready) once its process accepts connections."""
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                backed = self._pods.get(key)
            if backed is None or not backed.process.alive():
                return
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", backed.local_port), timeout=1),
            ):
                self._mark_serving(meta, backed=True)
                return
            time.sleep(0.1)
        # A process that never listens leaves its pod unready, as a failing readiness probe
        # would: that is the pod's state to report, not a fault of the local cluster.
        if not self._stop.is_set():
            log.warning("%s: its process did not listen within %.0fs", key, timeout)

    def _mark_serving(self, meta: dict[str, Any], backed: bool) -> None:
        """Serving (kwok makes it Ready); a backed pod is also ended by the backer on deletion."""
        marks = {SERVING_ANNOTATION: "true", **({BACKED_ANNOTATION: "true"} if backed else {})}
        self._annotate(meta, marks)

    def _annotate(self, meta: dict[str, Any], annotations: dict[str, str]) -> None:
        patch = {"metadata": {"annotations": annotations}}
        with contextlib.suppress(Exception):  # the pod may be gone already
            self._core.patch_namespaced_pod(meta["name"], meta["namespace"], patch)

    def _begin_termination(self, key: str, pod: dict[str, Any]) -> None:
        """End a pod being deleted as a kubelet would, once, in a thread of its own."""
        if key in self._terminating:
            return
        self._terminating.add(key)
        args = (key, pod.get("metadata") or {}, termination_of(pod))
        threading.Thread(target=self._terminate, args=args, daemon=True).start()

    def _terminate(self, key: str, meta: dict[str, Any], plan: Termination) -> None:
        """preStop wait, SIGTERM, SIGKILL once the grace period is over; then let kwok remove
        the pod. Its address keeps answering (as far as the process does) until the end."""
        started = time.monotonic()
        with self._lock:
            backed = self._pods.get(key)
        if backed is not None:
            if self._stop.wait(plan.pre_stop):
                return  # the local cluster is stopping; stop() ends every process
            backed.process.stop(grace=plan.term_window(time.monotonic() - started))
            self._release(key)
            log.info("pod %s terminated after %.1fs", key, time.monotonic() - started)
        self._annotate(meta, {TERMINATED_ANNOTATION: "true"})

    def _track(self, key: str, pod: dict[str, Any] | None) -> None:
        """Keep every pod's latest state and, with Prometheus on, its scrape targets file."""
        if pod is None:
            self._seen.pop(key, None)
            self._terminating.discard(key)
        else:
            self._seen[key] = pod
        if self._targets_file is not None:
            write_targets(self._targets_file, self._seen.values())

    def _back(self, key: str, ip: str, backing: Backing) -> None:
        if self._stop.is_set():
            return
        # Addresses are unique among live pods: another pod still backed at this one's address
        # is gone, whatever events were missed.
        for other, held in self.backed().items():
            if held.ip == ip and other != key:
                self._release(other)
        namespace = key.split("/", 1)[0]
        problem = missing_snapshot(self._kube, namespace, backing)
        if problem is not None:  # vLLM would exit; the pod stays unready
            log.warning("not starting %s: %s", key, problem)
            return
        port = free_port()
        where = Where(namespace, port, self._kubeconfig, self._workdir, self.hub_endpoint)
        argv, env = process_argv(self._kube, backing, where)
        logname = key.replace("/", "_") + ".log"
        proc = ManagedProcess(key, argv, self._workdir / "logs" / "pods" / logname, env).start()
        backed = BackedPod(key, ip, backing, proc, port)
        try:
            for container_port in backing.ports:
                backed.servers.append(self._listen(ip, container_port, port))
        except OSError:
            proc.stop(grace=1)
            raise
        with self._lock:
            self._pods[key] = backed
        log.info("backed pod %s at %s with %s on port %d", key, ip, backing.kind, port)
        if backing.runs_once:
            threading.Thread(target=self._end_when_exited, args=(key, backed), daemon=True).start()

    def _end_when_exited(self, key: str, backed: BackedPod) -> None:
        """A run-once pod (a Job's) ends with its process: Succeeded or Failed by its exit."""
        assert backed.process.popen is not None
        code = backed.process.popen.wait()
        with self._lock:
            current = self._pods.get(key) is backed and key not in self._terminating
        pod = self._seen.get(key)
        if self._stop.is_set() or not current or pod is None:
            return  # released: the pod was deleted, or the cluster is stopping
        namespace, name = key.split("/", 1)
        ended = finished_status(pod, code)
        with contextlib.suppress(Exception):  # the pod may be gone already
            self._kube.merge_patch("Pod", name, ended, namespace, "status")
        self._release(key)
        log.info("pod %s ended: %s", key, ended["status"]["phase"])

    def _listen(self, ip: str, container_port: int, port: int) -> asyncio.AbstractServer:
        """Listen on the pod's address; a just-deleted pod that had the same address may still
        hold it for a moment, so retry briefly before giving up."""
        for attempt in range(20):
            try:
                return asyncio.run_coroutine_threadsafe(
                    asyncio.start_server(forward_to(port), ip, container_port), self._loop
                ).result(timeout=10)
            except OSError:
                if attempt == 19:
                    raise
                time.sleep(0.25)
        raise AssertionError("unreachable")

    def _release(self, key: str) -> None:
        with self._lock:
            backed = self._pods.pop(key, None)
        if backed is None:
            return
        for server in backed.servers:
            self._loop.call_soon_threadsafe(server.close)
        backed.process.stop(grace=2)

    def stop(self) -> None:
        self._stop.set()
        for key in list(self.backed()):
            self._release(key)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(timeout=5)
