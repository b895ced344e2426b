"""Cost in status against the simulator: traffic through the router, then status.cost's tokens
equal the simulator's own counters and its $/1M tokens is within 5 % of the hand computation
(the GPUClass price x the replica's GPU time since its pod was created, over those tokens)."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from rollout_support import echo_model, wait_serving

from slmfleet.cli.kubectl_slm import main as kubectl_slm
from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.prometheus import instant_query
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube
from slmfleet.timefmt import parse_time

pytestmark = pytest.mark.e2e

L4_PRICE = 0.71  # manifests/examples/gpuclasses.yaml, one GPU per replica
SPAN_SECONDS = 90  # long enough that the pod's start, known to the second, is 1 % of the span


def send(url: str, model: str, count: int) -> int:
    """``count`` completions through the router; how many were answered."""
    body = json.dumps({"model": model, "prompt": "what does this cost", "max_tokens": 8}).encode()
    answered = 0
    for _ in range(count):
        request = urllib.request.Request(
            f"{url}/v1/completions", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            answered += resp.status == 200
    return answered


def sim_counter(ip: str, name: str) -> float:
    """The sum of a counter's series on the simulator's own /metrics."""
    with urllib.request.urlopen(f"http://{ip}:8000/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+-]+)$"
    return sum(float(m) for m in re.findall(pattern, text, re.MULTILINE))


def cost_of(k8s: Kube, name: str, namespace: str) -> dict[str, Any]:
    body = k8s.get("SmallModel", name, namespace) or {}
    return dict((body.get("status") or {}).get("cost") or {})


def test_status_cost_matches_the_simulators_counters(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    cluster: DevCluster,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = echo_model(namespace, "priced", {"analysis": "none"}, replicas=1)
    served = body["spec"]["servedModelName"]
    k8s.apply(body)
    wait_serving(k8s, "priced", namespace)
    ip = poll("1 ready router pod", lambda: router_ips(k8s, namespace))[0]
    assert send(f"http://{ip}:8080", served, 25) == 25
    # the TTFT histogram appears with the first request: once Prometheus has scraped it, the
    # rest of the traffic is an increase that rate() sees, so kubectl slm top has a p95 TTFT
    ttft = f'vllm:time_to_first_token_seconds_count{{namespace="{namespace}"}}'
    poll("the TTFT histogram scraped", lambda: instant_query(cluster.prometheus_url or "", ttft))
    assert send(f"http://{ip}:8080", served, 25) == 25

    pods = k8s.list("Pod", namespace, "slmfleet.io/model=priced")
    assert len(pods) == 1
    pod_ip, started = pods[0]["status"]["podIP"], pods[0]["metadata"]["creationTimestamp"]
    tokens = sim_counter(pod_ip, "vllm:prompt_tokens_total") + sim_counter(
        pod_ip, "vllm:generation_tokens_total"
    )
    assert tokens > 0

    def counted() -> dict[str, Any] | None:
        cost = cost_of(k8s, "priced", namespace)
        window = cost.get("window") or {}
        ledger = cost.get("ledger") or {}
        span = float(ledger.get("observed") or 0) - parse_time(started).timestamp()
        seen = (window.get("promptTokens") or 0) + (window.get("generationTokens") or 0)
        return cost if seen == tokens and span >= SPAN_SECONDS else None

    cost = poll("status.cost with the simulator's tokens", counted, timeout=240, interval=1)
    window = cost["window"]
    assert cost["reason"] == "Priced", cost
    assert window["requests"] == sim_counter(pod_ip, "vllm:request_success_total") >= 50
    hours = (cost["ledger"]["observed"] - parse_time(started).timestamp()) / 3600
    by_hand = L4_PRICE * hours / tokens * 1e6
    assert window["costPer1MTokens"] == pytest.approx(by_hand, rel=0.05)
    assert window["gpuHours"] == pytest.approx(hours, rel=0.05)
    assert cost["sinceCreation"]["promptTokens"] == window["promptTokens"]
    assert cost["pricePerGPUHour"] == L4_PRICE and cost["gpus"] == 1
    assert (cost["capacityTokensPerSecond"] or 0) > 0 and cost["utilization"] is not None

    # kubectl slm top -A: the row from status, with KV use, p95 TTFT and error rate from Prometheus
    capsys.readouterr()
    argv = ["top", "-A", "-o", "json", "--kubeconfig", str(cluster.kubeconfig)]
    argv += ["--prometheus-url", cluster.prometheus_url or ""]
    assert kubectl_slm(argv) == 0
    rows = {(r["namespace"], r["name"]): r for r in json.loads(capsys.readouterr().out)}
    row = rows[(namespace, "priced")]
    assert (row["costPer1MTokens"] or 0) > 0 and row["tokensPerSecond"] is not None
    assert row["kvCacheUsage"] is not None and row["p95TTFTSeconds"] is not None
    assert row["errorRate"] == 0 and row["fitHeadroomGiB"] is not None


def chat(url: str, model: str, text: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def test_cascade_status_counts_tiers_escalations_and_the_saving(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    for name in ("small", "big"):
        model = echo_model(namespace, name, {"analysis": "none"}, replicas=1)
        model["spec"]["servedModelName"] = f"{name}-served"
        k8s.apply(model)
    route = {
        "apiVersion": "slmfleet.io/v1alpha1",
        "kind": "ModelRoute",
        "metadata": {"name": "triage", "namespace": namespace},
        "spec": {
            "match": {"model": "triage"},
            "backends": [
                {"name": "small", "smallModelRef": {"name": "small"}},
                {"name": "big", "smallModelRef": {"name": "big"}, "weight": 0},
            ],
            # echo mode answers with the prompt: "ok ..." passes the regex, "no ..." climbs
            "cascade": {
                "tiers": ["small", "big"],
                "regex": "ok.*",
                "escalateOnLength": False,
                "maxEscalationFraction": 1.0,
            },
        },
    }
    k8s.apply(route)
    for name in ("small", "big"):
        wait_serving(k8s, name, namespace)
    ip = poll("1 ready router pod", lambda: router_ips(k8s, namespace))[0]
    url = f"http://{ip}:8080"
    poll("the route served", lambda: chat(url, "triage", "ok warm-up") is None)
    for i in range(30):
        chat(url, "triage", f"ok ticket {i}")
    for i in range(10):
        chat(url, "triage", f"no ticket {i}")

    seen: list[dict[str, Any]] = [{}]

    def cascade() -> dict[str, Any] | None:
        body = k8s.get("ModelRoute", "triage", namespace) or {}
        seen[0] = found = dict((body.get("status") or {}).get("cascade") or {})
        return found if found.get("reason") == "Priced" and found.get("requests") == 41 else None

    try:
        found = poll("status.cascade of 41 answers, priced", cascade, timeout=240, interval=1)
    except TimeoutError as err:
        raise AssertionError(f"{err}; status.cascade: {seen[0]}") from None
    tiers = {t["name"]: t for t in found["tiers"]}
    assert (tiers["small"]["requests"], tiers["big"]["requests"]) == (31, 10)
    assert tiers["small"]["share"] == pytest.approx(31 / 41, rel=1e-3)
    assert found["escalations"] == [{"reason": "invalid", "count": 10}]
    assert all(t["tokens"] > 0 and t["cost"] is not None for t in tiers.values())
    big = tiers["big"]["costPer1MTokens"]
    total_tokens = tiers["small"]["tokens"] + tiers["big"]["tokens"]
    assert found["costAllOnLastTier"] == pytest.approx(total_tokens * big / 1e6, rel=1e-3)
    assert found["saving"] == pytest.approx(found["costAllOnLastTier"] - found["cost"], rel=1e-3)
