"""The migration walk of docs/migration.md, end to end on simulators.

A hosted model (an echo simulator reached by URL, standing in for a hosted API) serves 100 % of a
ModelRoute; a SmallModel with a shorter context (it refuses the 5 % long prompts) shadows it; a
change of the SmallModel is evaluated against the route's hosted backend (the reference) on a
1,000-case dataset and promoted within 2 points; the route then splits by weight between the two,
and at last sends everything to the small model with the hosted one as the cascade's upper tier.
Each stage sends 1,000 requests through the router. The printed figures are the ones
docs/migration.md cites.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import json
import re
import urllib.request
from typing import Any

import aiohttp
import pytest
from rollout_support import describe, echo_model, wait_serving
from test_eval_gates import SHORT_CONTEXT, jsonl

from slmfleet.builders.router import ROUTER_NAME
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import ROUTER_SELECTOR, ready_pod_ips, router_ips
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

API = "slmfleet.io/v1alpha1"
LONG_EVERY = 20  # one request in 20 is too long for the small model's context: 5 %
HOSTED_PRICE = 5.0  # $ per 1M tokens of the hosted model (its backend's pricePer1MTokens)


def prompts(n: int) -> list[str]:
    return [("long " * 200 if i % LONG_EVERY == 0 else "") + f"question {i}" for i in range(n)]


async def send(urls: list[str], texts: list[str]) -> list[tuple[int, str, str, str]]:
    """(status, backend, cascade tier, answer) per prompt, through the router pods."""
    limit = asyncio.Semaphore(16)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one(i: int, text: str) -> tuple[int, str, str, str]:
            body = {"model": "assistant", "prompt": text, "max_tokens": 16, "temperature": 0}
            async with limit, session.post(urls[i % len(urls)] + "/v1/completions", json=body) as r:
                raw = await r.read()
                answer = json.loads(raw)["choices"][0]["text"] if r.status == 200 else ""
                tier = r.headers.get("x-slmfleet-cascade-tier", "")
                return r.status, r.headers.get("x-slmfleet-backend", ""), tier, answer

        return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(texts))))


def route(namespace: str, backends: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    meta = {"name": "assistant", "namespace": namespace}
    spec = {"match": {"model": "assistant"}, "backends": backends, **spec}
    return {"apiVersion": API, "kind": "ModelRoute", "metadata": meta, "spec": spec}


def routers(k8s: Kube, namespace: str) -> list[str]:
    return [f"http://{ip}:8080" for ip in router_ips(k8s, namespace)]


def rolled_out(k8s: Kube, namespace: str) -> bool:
    """The router Deployment runs its latest pods only (a new API key env restarts them)."""
    deployment = k8s.get("Deployment", ROUTER_NAME, namespace) or {}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    want = spec.get("replicas", 1)
    pods = k8s.list("Pod", namespace, ROUTER_SELECTOR)
    return (
        status.get("observedGeneration") == (deployment.get("metadata") or {}).get("generation")
        and status.get("updatedReplicas") == want == status.get("readyReplicas")
        and status.get("replicas") == want
        and len(pods) == want
    )


def shadow_counts(k8s: Kube, namespace: str) -> dict[str, float]:
    """Mirrored requests of the route by result, summed over the router pods."""
    counts: collections.Counter[str] = collections.Counter()
    for url in routers(k8s, namespace):
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("slmfleet_router_shadow_requests_total{"):
                labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
                counts[labels["result"]] += float(line.rsplit(" ", 1)[1])
    return dict(counts)


def settled(k8s: Kube, namespace: str, least: float = 0) -> dict[str, float]:
    """The shadow counts once at least ``least`` and two reads in a row agree (no mirror in
    flight: they take milliseconds)."""
    last: dict[str, float] = {}

    def probe() -> dict[str, float] | None:
        nonlocal last
        now, before = shadow_counts(k8s, namespace), last
        last = now
        return now if now == before and sum(now.values()) >= least else None

    return poll("the shadow counts settled", probe, 120, interval=0.5)


def stage(
    k8s: Kube, namespace: str, body: dict[str, Any], ready: Any, before: Any = None
) -> dict[str, Any]:
    """Apply the route, wait until the routers serve it (``ready`` of a probe's results), call
    ``before``, send 1,000 requests; what came back, counted (and ``before``'s result)."""
    k8s.apply(body)

    def serving() -> list[tuple[int, str, str, str]] | None:
        urls = routers(k8s, namespace)
        if not urls or not rolled_out(k8s, namespace):
            return None
        try:
            probe = asyncio.run(send(urls, prompts(40)))
        except aiohttp.ClientError:
            return None
        return probe if ready(probe) else None

    poll("the routers serve the new route", serving, 180, interval=1)
    baseline = before() if before else None
    texts = prompts(1000)
    results = asyncio.run(send(routers(k8s, namespace), texts))
    lost = sum(1 for status, _, _, _ in results if status != 200)
    wrong = sum(1 for (_, _, _, answer), text in zip(results, texts, strict=True) if answer != text)
    counts = {
        "lost": lost,
        "wrong": wrong,
        "backends": dict(collections.Counter(b for _, b, _, _ in results)),
        "answered": dict(collections.Counter(b for s, b, _, _ in results if s == 200)),
        "tiers": dict(collections.Counter(t for _, _, t, _ in results if t)),
        "before": baseline,
    }
    print(f"\n{json.dumps(counts)}")
    return counts


def test_migration_walk(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    # 1. the hosted model: a simulator reached by URL, with an API key the router may use
    hosted = echo_model(namespace, "hosted", {"analysis": "none"}, replicas=1)
    hosted["spec"]["servedModelName"] = "hosted-large"
    k8s.apply(hosted)
    wait_serving(k8s, "hosted", namespace)
    ip = ready_pod_ips(k8s, namespace, "slmfleet.io/model=hosted")[0]
    k8s.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "hosted-key",
                "namespace": namespace,
                "labels": {"slmfleet.io/usable-by": "router"},
            },
            "data": {"token": base64.b64encode(b"sk-hosted").decode()},
        }
    )
    url_backend = {
        "name": "hosted",
        "url": f"http://{ip}:8000/v1",
        "insecure": True,
        "model": "hosted-large",
        "apiKeySecretRef": {"name": "hosted-key", "key": "token"},
        "pricePer1MTokens": HOSTED_PRICE,
    }
    all_hosted = stage(
        k8s, namespace, route(namespace, [url_backend]),
        lambda probe: all(s == 200 and b == "hosted" for s, b, _, _ in probe),
    )  # fmt: skip
    assert all_hosted["lost"] == 0 and all_hosted["backends"] == {"hosted": 1000}

    # 2. the small model shadows the hosted one: every answer still comes from the hosted model
    small = echo_model(namespace, "small", {"analysis": "none"}, replicas=2)
    small["spec"].update(servedModelName="small", maxModelLen=SHORT_CONTEXT)
    k8s.apply(small)
    wait_serving(k8s, "small", namespace)
    shadow_backend = {"name": "small", "smallModelRef": {"name": "small"}, "weight": 0}
    shadowing = stage(
        k8s, namespace,
        route(namespace, [url_backend, shadow_backend], shadow={"backend": "small", "percent": 100}),
        lambda probe: sum(shadow_counts(k8s, namespace).values()) > 0,
        before=lambda: settled(k8s, namespace),
    )  # fmt: skip
    assert shadowing["lost"] == 0 and shadowing["wrong"] == 0  # no served answer changed
    assert shadowing["backends"] == {"hosted": 1000}
    baseline = shadowing["before"]
    after = settled(k8s, namespace, sum(baseline.values()) + 1000)
    mirrored = {k: v - baseline.get(k, 0) for k, v in after.items() if v - baseline.get(k, 0)}
    print(f"\nshadow {json.dumps(mirrored)}")
    assert mirrored == {"agree": 950, "error": 50}  # every request mirrored; the refusals: 5 %

    # 3. a change of the small model, evaluated against the route's hosted backend
    k8s.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cases", "namespace": namespace},
            "data": {"cases.jsonl": jsonl(1000, 10)},
        }
    )
    k8s.apply(
        {
            "apiVersion": API,
            "kind": "EvalSuite",
            "metadata": {"name": "vs-hosted", "namespace": namespace},
            "spec": {
                "casesFrom": {"configMapKeyRef": {"name": "cases", "key": "cases.jsonl"}},
                "passThreshold": 0.9,
                "reference": {"modelRouteRef": {"name": "assistant", "backend": "hosted"}},
            },
        }
    )
    changed = copy.deepcopy(small)
    # the first analysis is due at once; an interval of 30 s gives its eval a 24 s deadline
    changed["spec"]["rollout"] = {"steps": [{"weight": 50}], "failureLimit": 0,
                                  "evalSuiteRef": "vs-hosted", "analysisIntervalSeconds": 30}  # fmt: skip
    changed["spec"]["engine"]["extraArgs"] = ["--mode=echo", "--inter-token-latency=1ms"]
    k8s.apply(changed)
    try:
        promoted = wait_serving(k8s, "small", namespace, timeout=240)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'small', namespace)}") from None
    evaluation = promoted["status"]["rollout"]["lastEval"]
    assert evaluation["verdict"] == "pass", evaluation
    assert evaluation["reference"]["against"] == "assistant/hosted"
    print(f"\neval {json.dumps(evaluation['reference'])}")

    # 4. weighted: half of the first attempts to the small model
    small_backend = {"name": "small", "smallModelRef": {"name": "small"}, "weight": 50}
    weighted = stage(
        k8s, namespace,
        route(namespace, [small_backend, {**url_backend, "weight": 50}], fallback=["hosted"]),
        lambda probe: any(b == "small" for s, b, _, _ in probe),
    )  # fmt: skip
    # a long prompt the small model refuses (400) is the client's error: no fallback for it
    assert weighted["backends"].keys() == {"small", "hosted"}
    assert weighted["lost"] == weighted["wrong"] <= 50  # only long prompts the small model got

    # 5. the small model serves; the hosted one is the cascade's upper tier
    cascade = {"tiers": ["small", "hosted"], "maxEscalationFraction": 0.2}
    served = stage(
        k8s, namespace,
        route(namespace, [{**small_backend, "weight": 100}, {**url_backend, "weight": 0}],
              cascade=cascade),
        lambda probe: all(t for _, _, t, _ in probe),
    )  # fmt: skip
    assert served["lost"] == 0 and served["wrong"] == 0
    assert served["backends"] == {"small": 950, "hosted": 50}  # the 5 % long prompts escalated

    # 6. what it costs: status.cascade prices each tier and the saving against the hosted model
    small_answers = weighted["answered"].get("small", 0) + served["answered"]["small"]
    cascade_status, small_cost = economics(k8s, namespace, small_answers, 50)
    tiers = {t["name"]: t for t in cascade_status["tiers"]}
    assert list(tiers) == ["small", "hosted"]
    assert tiers["hosted"]["costPer1MTokens"] == HOSTED_PRICE
    assert (tiers["small"]["costPer1MTokens"] or 0) > 0  # the SmallModel's own $/1M tokens
    for tier in tiers.values():
        assert tier["tokens"] > 0
        price = tier["costPer1MTokens"]
        assert tier["cost"] == pytest.approx(tier["tokens"] * price / 1e6, rel=1e-3)
    tokens = sum(t["tokens"] for t in tiers.values())
    assert cascade_status["cost"] == pytest.approx(sum(t["cost"] for t in tiers.values()), rel=1e-3)
    assert cascade_status["costAllOnLastTier"] == pytest.approx(
        tokens * HOSTED_PRICE / 1e6, rel=1e-3
    )
    saving = cascade_status["costAllOnLastTier"] - cascade_status["cost"]
    assert cascade_status["saving"] == pytest.approx(saving, rel=1e-3, abs=1e-6)
    print(f"\ncascade {json.dumps(cascade_status)}")
    print(f"\nsmall cost {json.dumps(small_cost)}")


def economics(
    k8s: Kube, namespace: str, small: int, hosted: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The route's status.cascade, priced, once each tier counts at least the answers the test
    saw it give (the probes come on top) and two reads 3 s apart count the same requests and
    tokens (the prices move on: the small model's GPU-hours accrue); and the small model's
    status.cost beside it."""
    last: dict[str, Any] = {}
    counts: list[tuple[str, int, int]] = []

    def probe() -> dict[str, Any] | None:
        nonlocal last, counts
        body = k8s.get("ModelRoute", "assistant", namespace) or {}
        last = dict((body.get("status") or {}).get("cascade") or {})
        now, before = (
            [(t["name"], t["requests"], t["tokens"]) for t in last.get("tiers") or []],
            counts,
        )
        counts = now
        answered = {name: n for name, n, _ in now}
        seen = answered.get("small", 0) >= small and answered.get("hosted", 0) >= hosted
        return last if now == before and last.get("reason") == "Priced" and seen else None

    try:
        found = poll("status.cascade priced with the walk's answers", probe, 240, interval=3)
    except TimeoutError as err:
        raise AssertionError(f"{err}; status.cascade: {last}") from None
    model = k8s.get("SmallModel", "small", namespace) or {}
    return found, dict((model.get("status") or {}).get("cost") or {})
