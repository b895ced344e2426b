"""No dead panels: every query of every Grafana dashboard in the chart (charts/slmfleet/
dashboards/) runs against the local cluster's Prometheus, after real traffic through the router
(a cascade that escalates, a backend pod that died, an unknown model) and a canary rollout, and
returns at least one series. The operator's own metrics are scraped from its metrics port.

The ModelRoutes met on the way (resolved, waiting for endpoints, stalled) are judged by the real
kstatus library and, with SLMFLEET_RECORD_KSTATUS=1, saved in tests/data/argocd/ for the Argo CD
health check's table tests (tests/unit/test_argocd_health.py).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kstatus_oracle import kstatus, record
from rollout_support import ECHO, echo_model, wait_phase, wait_serving, with_args

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.prometheus import instant_query
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DASHBOARDS = repo_root() / "charts" / "slmfleet" / "dashboards"
ARGOCD = repo_root() / "tests" / "data" / "argocd"
API = "slmfleet.io/v1alpha1"
RATE_INTERVAL = "30s"


def dashboard_queries(namespace: str) -> list[tuple[str, str]]:
    """(where, PromQL) of every target of every panel, with Grafana's variables filled in."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
                expr = expr.replace("$namespace", namespace)
                found.append((f"{path.stem}: {panel['title']} ({target['refId']})", expr))
    return found


def route(name: str, namespace: str, backends: list[str], **spec: Any) -> dict[str, Any]:
    refs = [{"name": b, "smallModelRef": {"name": b}} for b in backends]
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": API, "kind": "ModelRoute", "metadata": meta,
            "spec": {"backends": refs, **spec}}  # fmt: skip


def route_reason(k8s: Kube, namespace: str, name: str, reason: str) -> dict[str, Any] | None:
    obj = k8s.get("ModelRoute", name, namespace) or {}
    status = obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    current = status.get("observedGeneration") == obj.get("metadata", {}).get("generation")
    return obj if current and ready and ready[0]["reason"] == reason else None


def judged_route(k8s: Kube, namespace: str, name: str, reason: str, state: str, want: str) -> None:
    obj = poll(f"ModelRoute {name} {reason}", lambda: route_reason(k8s, namespace, name, reason))
    verdict = kstatus(obj)
    assert verdict["status"] == want, verdict
    record(state, obj, verdict, ARGOCD)


def chat(url: str, model: str, content: str) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


class Traffic:
    """Requests sent round the router pods from a thread until stopped: the cascade route
    (answers 'yes' stay on the small tier, 'maybe' escalates), each model's served name, and
    a model nobody serves."""

    def __init__(self, urls: list[str], served: dict[str, str]) -> None:
        self.urls, self.served = urls, served
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        plan = [("classify", "yes"), ("classify", "maybe"), (self.served["small"], "hi"),
                (self.served["large"], "hello"), ("nobody-serves-this", "x")]  # fmt: skip
        while not self._stop.is_set():
            for model, prompt in plan:
                chat(self.urls[self.sent % len(self.urls)], model, prompt)
                self.sent += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def answers(url: str, expr: str) -> int | str:
    """How many series ``expr`` returns, or why Prometheus refused it."""
    try:
        return len(instant_query(url, expr))
    except urllib.error.HTTPError as err:
        return f"refused: {err.read().decode(errors='replace')}"


def dead(url: str, queries: list[tuple[str, str]]) -> list[str]:
    """The queries that return no series or that Prometheus refuses, and why."""
    found = ((where, answers(url, expr)) for where, expr in queries)
    return [
        f"{where}: {got or 'no series'}" for where, got in found if got == 0 or isinstance(got, str)
    ]


@pytest.fixture
def prometheus(cluster: DevCluster) -> Iterator[str]:
    assert cluster.prometheus_url is not None
    yield cluster.prometheus_url


def test_every_dashboard_query_returns_series_after_traffic_and_a_rollout(
    operator: OperatorProcess,
    cluster: DevCluster,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    prometheus: str,
) -> None:
    analysed = {"steps": [{"weight": 50, "pauseSeconds": 3600}], "metrics": {"p95TTFTSeconds": 5}}
    small = echo_model(namespace, "small", analysed)
    large = echo_model(namespace, "large", {"steps": [{"weight": 100}]}, gpu_class="t4")
    stuck = echo_model(namespace, "stuck", {"steps": [{"weight": 100}]}, replicas=1)
    stuck["spec"]["engine"]["extraArgs"] = ["--mode=nonsense"]  # the simulator exits: never Ready
    huge = echo_model(namespace, "huge", {"steps": [{"weight": 100}]}, replicas=1)
    huge["spec"]["maxNumSeqs"] = 4096  # runtime overhead past the L4's memory: DoesNotFit
    for body in (small, large, stuck, huge):
        k8s.apply(body)
    cascade = {"tiers": ["small", "large"], "regex": "yes|no", "maxEscalationFraction": 1.0}
    k8s.apply(route("classify", namespace, ["small", "large"], cascade=cascade))
    k8s.apply(route("waiting", namespace, ["stuck"]))
    k8s.apply(route("broken", namespace, ["huge"]))
    wait_serving(k8s, "small", namespace)
    wait_serving(k8s, "large", namespace)
    judged_route(k8s, namespace, "classify", "Resolved", "modelroute-resolved", "Current")
    judged_route(
        k8s, namespace, "waiting", "WaitingForEndpoints", "modelroute-waiting", "InProgress"
    )
    judged_route(k8s, namespace, "broken", "BackendsStalled", "modelroute-stalled", "Failed")

    ips = poll("2 ready router pods", lambda: len(r := router_ips(k8s, namespace)) == 2 and r)
    urls = [f"http://{ip}:8080" for ip in ips]
    served = {
        name: body["spec"]["servedModelName"] for name, body in (("small", small), ("large", large))
    }
    for url in urls:
        poll(f"{url} routes classify", lambda u=url: chat(u, "classify", "yes") == 200)

    with Traffic(urls, served) as traffic:
        k8s.apply(with_args(small, ECHO, "--inter-token-latency=1ms"))  # a canary, analysed
        rollout = wait_phase(k8s, "small", namespace, ("Paused",), timeout=180)
        assert rollout["lastAnalysis"], rollout
        assert cluster.backer is not None
        victim = k8s.list("Pod", namespace, "slmfleet.io/model=large")[0]["metadata"]["name"]
        cluster.backer.kill(namespace, victim)  # its address stops answering: retries
        queries = dashboard_queries(namespace)
        try:
            poll("every dashboard query returns a series",
                 lambda: not dead(prometheus, queries), timeout=120, interval=2)  # fmt: skip
        except TimeoutError:
            raise AssertionError(f"dead panels: {dead(prometheus, queries)}") from None
        assert traffic.sent > 0
    assert len(queries) >= 30
    # the operator's own figures, as Prometheus scraped them
    l4 = (k8s.get("GPUClass", "l4") or {})["spec"]
    price = instant_query(
        prometheus,
        f'slmfleet_model_replica_price_per_hour{{namespace="{namespace}",model="small"}}',
    )
    assert [float(s["value"][1]) for s in price] == [
        pytest.approx(l4.get("gpusPerReplica", 1) * l4["pricePerGPUHour"])
    ]
    passed = 'sum(slmfleet_analysis_checks_total{check="p95TTFTSeconds",verdict="pass"})'
    assert float(instant_query(prometheus, passed)[0]["value"][1]) >= 1
    paused = instant_query(prometheus, 'slmfleet_rollouts{phase="Paused"}')
    assert float(paused[0]["value"][1]) >= 1
