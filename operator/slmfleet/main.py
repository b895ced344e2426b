"""The kopf entry point: operator settings at startup, and the handlers of every kind.

Run with ``slmfleet run`` (or ``kopf run -m slmfleet.main``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import kopf

from slmfleet import GROUP
from slmfleet.cache import indexes
from slmfleet.cache.view import FleetCache
from slmfleet.config import watch_namespaces
from slmfleet.handlers import (
    autoscaling,
    gpuclass,
    modelroute,
    smallmodel,
    weight_cache_events,
)
from slmfleet.handlers.analysis_runner import AnalysisRunner
from slmfleet.handlers.apply import Applier
from slmfleet.handlers.clients import kube_client
from slmfleet.handlers.events import EventPoster
from slmfleet.handlers.runtime import Runtime, install, runtime
from slmfleet.kopf_storage import NoDiffBase
from slmfleet.leader import Elector, StandbyHealth
from slmfleet.observability import metrics
from slmfleet.workqueue import Scheduler

ANALYSIS_PARTS_PER_WORKER = 4


def worker_count() -> int:
    """Concurrent handlers (API calls, plans); SLMFLEET_WORKERS, default 8."""
    return max(1, int(os.environ.get("SLMFLEET_WORKERS", "8")))


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **kwargs: Any) -> None:
    """kopf's settings, then the runtime: the cache over kopf's indexes and the one scheduler.

    Nothing of kopf's own bookkeeping is written on objects any more (no finalizers, no
    progress annotations): every handler is a watch handler or an index.
    """
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = NoDiffBase()  # no changing handlers (kopf_storage.py)
    settings.posting.level = logging.INFO
    # kopf lists a resource again whenever a watch stream ends: keep streams open as long as an
    # API server allows (its --min-request-timeout, 1800 s by default), and handlers skip
    # re-listed objects that did not change (cache/seen.py).
    settings.watching.server_timeout = 1800
    settings.watching.client_timeout = 1900
    # No cap on kopf's per-object workers: a worker that has indexed its object waits until
    # every index is filled before the watch handlers run, so with a cap below the number of
    # objects listed at startup (a restart with 33 models, or 33 engine pods) the capped
    # workers wait for objects that never get a worker: the operator would hang, alive and
    # healthy. A worker exists only while its object has events (idle_timeout), and the
    # handlers only enqueue keys, so the real concurrency is the scheduler's (SLMFLEET_WORKERS).
    settings.queueing.worker_limit = None
    indexes.configure_selectors(settings)
    handlers = {
        "model": smallmodel.handle_model,
        "routes": modelroute.handle_routes,
        "gpuclass": gpuclass.handle_gpuclass,
        "autoscale": autoscaling.handle_autoscale,
        "weights": weight_cache_events.handle_weights,
    }
    timed_handlers = {kind: metrics.timed(kind, handler) for kind, handler in handlers.items()}
    scheduler = Scheduler(timed_handlers, workers=worker_count())
    kube = kube_client()
    live = {name: kwargs[name] for name in indexes.ALL_INDEXES}  # kopf's live index objects
    # Parts of analyses (probe requests, queries, evals: waits on the network) in flight at once,
    # fleet-wide, on their own pool: the scheduler's workers never wait for them.
    analyses = AnalysisRunner(ANALYSIS_PARTS_PER_WORKER * worker_count())
    install(Runtime(FleetCache(live), kube, scheduler, Applier(kube), EventPoster(kube), analyses))


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    runtime().stop()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account first, else $KUBECONFIG (read now, not at import time)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


def _lead(liveness: str | None) -> None:
    """Block until this replica holds the Lease (answering liveness probes meanwhile)."""
    namespace = os.environ.get("SLMFLEET_OPERATOR_NAMESPACE") or "default"
    me = os.environ.get("SLMFLEET_POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    health = StandbyHealth(liveness)
    try:
        Elector(kube_client(), namespace, me).acquire()
    finally:
        health.close()


def run_operator(
    namespaces: list[str],
    all_namespaces: bool,
    liveness: str | None,
    verbose: bool,
    metrics_address: str = "",
) -> int:
    """Run until interrupted; namespaced when namespaces are given, else cluster-wide. The
    metrics endpoint (when given) answers from the start, a standby's too."""
    kopf.configure(verbose=verbose)
    if not verbose:
        # kopf logs every indexer and watch-handler call at INFO: one line per watch event of
        # every object, which at fleet size is most of an idle operator's work. Failures are
        # logged at WARNING and above and stay; so do the operator's own INFO lines.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # liveness probes
    if metrics_address:
        metrics.serve(metrics_address)
    clusterwide = all_namespaces or not namespaces
    watch_namespaces([] if clusterwide else namespaces)
    if os.environ.get("SLMFLEET_LEADER_ELECTION", "false").lower() == "true":
        _lead(liveness)
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=clusterwide,
            namespaces=[] if clusterwide else namespaces,
            liveness_endpoint=liveness,
        )
    )
    return 0
