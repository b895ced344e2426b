"""EvalSuite datasets on a PersistentVolumeClaim: fetched through a loader Job, kept in memory.

The operator cannot mount its users' claims. When an eval needs a suite's ``casesFrom.pvcFile``
and has no fresh copy, it starts the suite's loader Job (builders/dataset_job.py: the operator's
image, the claim mounted read-only) and that analysis is inconclusive, saying the dataset is
loading; a later analysis finds the loader's pod running and fetches the file from its IP (as
the weight cache's progress is read), and the cases are kept in memory for the suite's
generation, re-read after LOAD_TTL_SECONDS. A file the loader refuses (a bad line, missing) is
the analysis' reason, retried with a new loader after RETRY_SECONDS. Nothing here waits: each
call does at most a few API requests and one HTTP GET, within the analysis deadline.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from slmfleet.analysis.dataset import DatasetError, parse_jsonl
from slmfleet.api.eval_dataset import PvcFile
from slmfleet.api.evalsuite import EvalCase
from slmfleet.builders.dataset_job import loader_job, loader_name
from slmfleet.config import settings
from slmfleet.datasets.serve import CASES_PATH, DATASET_PORT
from slmfleet.handlers.clients import kube_client
from slmfleet.k8s import Kube

LOAD_TTL_SECONDS = 3600.0
RETRY_SECONDS = 30.0
Fetch = Callable[[str, float], tuple[int, bytes]]
"""(url, timeout) -> (HTTP status, body); OSError when nothing answered."""


def http_fetch(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())


@dataclass
class _Load:
    ident: tuple[str, int, str, str]
    """(suite uid, generation, claim, path): a new one starts over."""
    attempt: int = 0
    cases: list[EvalCase] | None = None
    error: str | None = None
    at: float = 0.0
    used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _finished(job: Mapping[str, Any]) -> bool:
    status = job.get("status") or {}
    return bool(status.get("succeeded") or status.get("failed"))


def _running_ip(pods: list[dict[str, Any]]) -> str | None:
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") == "Running" and status.get("podIP"):
            return str(status["podIP"])
    return None


class DatasetLoads:
    """The datasets fetched so far, by suite."""

    def __init__(
        self,
        kube: Callable[[], Kube] = kube_client,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube, self._fetch, self._clock = kube, fetch, clock
        self._loads: dict[tuple[str, str], _Load] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._loads)

    def cases(self, suite: Mapping[str, Any], pvc: PvcFile, timeout: float) -> list[EvalCase] | str:
        """The suite's cases from ``pvc``, or why there are none yet (loading, refused)."""
        meta = suite["metadata"]
        key = (str(meta.get("namespace") or ""), str(meta["name"]))
        ident = (str(meta.get("uid") or ""), int(meta.get("generation") or 0), pvc.claim_name,
                 pvc.path)  # fmt: skip
        with self._lock:
            self._forget_unused()
            load = self._loads.get(key)
            if load is None or load.ident != ident:
                load = self._loads[key] = _Load(ident)
            load.used = self._clock()
        with load.lock:  # one loader per suite, however many models evaluate with it
            now = self._clock()
            if load.cases is not None and now - load.at < LOAD_TTL_SECONDS:
                return load.cases
            if load.error is not None and now - load.at < RETRY_SECONDS:
                return load.error
            return self._load(load, suite, pvc, timeout)

    def _forget_unused(self) -> None:
        """Drop the datasets no eval asked for in two load periods (deleted suites')."""
        now = self._clock()
        for key in [k for k, x in self._loads.items() if now - x.used > 2 * LOAD_TTL_SECONDS]:
            del self._loads[key]

    def _load(
        self, load: _Load, suite: Mapping[str, Any], pvc: PvcFile, timeout: float
    ) -> list[EvalCase] | str:
        meta, kube = suite["metadata"], self._kube()
        ns, uid, generation = meta.get("namespace"), load.ident[0], load.ident[1]
        where = f"dataset {pvc.path} on PersistentVolumeClaim {pvc.claim_name!r}"
        name = loader_name(meta["name"], uid, generation, pvc.claim_name, pvc.path, load.attempt)
        job = kube.get("Job", name, ns)
        if job is not None and _finished(job):  # a loader that ended (idle, or failed)
            load.attempt += 1
            name = loader_name(meta["name"], uid, generation, pvc.claim_name, pvc.path,
                               load.attempt)  # fmt: skip
            job = kube.get("Job", name, ns)
        if job is None:
            image = settings().downloader_image
            try:
                kube.create(loader_job(dict(suite), name, pvc.claim_name, pvc.path, image))
            except ApiException as err:
                if err.status != 409:  # created by another operator replica meanwhile
                    return f"{where}: its loader Job could not be created ({err.reason})"
            return f"loading the {where}: its loader Job {name} was started"
        ip = _running_ip(kube.list("Pod", ns, f"job-name={name}"))
        if ip is None:
            return f"loading the {where}: the loader Job {name} has no running pod yet"
        try:
            status, body = self._fetch(f"http://{ip}:{DATASET_PORT}{CASES_PATH}", timeout)
        except OSError:
            return f"loading the {where}: the loader Job {name} did not answer yet"
        load.attempt, load.at = load.attempt + 1, self._clock()  # the next load: a new loader
        try:
            if status != 200:
                raise DatasetError(body.decode("utf-8", "replace").strip()[:300])
            load.cases, load.error = parse_jsonl(body.decode("utf-8")), None
        except (DatasetError, UnicodeDecodeError) as err:
            load.cases, load.error = None, f"{where}: {err}"
            return load.error
        return load.cases


DATASETS = DatasetLoads()
"""The operator's datasets (one process, shared by every analysis)."""
