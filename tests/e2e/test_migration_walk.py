"""The migration walk of docs/migration.md, end to end on simulators.

A hosted model (an echo simulator reached by URL, standing in for a hosted API) serves 100 % of a
ModelRoute; a SmallModel is evaluated against that route's hosted backend (the reference) on a
1,000-case dataset and promoted within 2 points; the route then splits by weight between the two,
and at last sends everything to the small model with the hosted one as the cascade's upper tier.
Each stage sends 1,000 requests through the router; none may be lost. The printed figures are
the ones docs/migration.md cites.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import json
from typing import Any

import aiohttp
import pytest
from rollout_support import describe, echo_model, wait_serving
from test_eval_gates import SHORT_CONTEXT, jsonl

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import ready_pod_ips, router_ips
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

API = "slmfleet.io/v1alpha1"
LONG_EVERY = 20  # one request in 20 is too long for the small model's context: 5 %


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


def stage(k8s: Kube, namespace: str, body: dict[str, Any], ready: Any) -> dict[str, Any]:
    """Apply the route, wait until the routers serve it (``ready`` of a probe's results), send
    1,000 requests; what came back, counted."""
    k8s.apply(body)

    def serving() -> list[tuple[int, str, str, str]] | None:
        urls = routers(k8s, namespace)
        if not urls:
            return None
        try:
            probe = asyncio.run(send(urls, prompts(40)))
        except aiohttp.ClientError:
            return None
        return probe if ready(probe) else None

    poll("the routers serve the new route", serving, 180, interval=1)
    texts = prompts(1000)
    results = asyncio.run(send(routers(k8s, namespace), texts))
    lost = sum(1 for status, _, _, _ in results if status != 200)
    wrong = sum(1 for (_, _, _, answer), text in zip(results, texts, strict=True) if answer != text)
    counts = {
        "lost": lost,
        "wrong": wrong,
        "backends": dict(collections.Counter(b for _, b, _, _ in results)),
        "tiers": dict(collections.Counter(t for _, _, t, _ in results if t)),
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
    }
    all_hosted = stage(
        k8s, namespace, route(namespace, [url_backend]),
        lambda probe: all(s == 200 and b == "hosted" for s, b, _, _ in probe),
    )  # fmt: skip
    assert all_hosted["lost"] == 0 and all_hosted["backends"] == {"hosted": 1000}

    # 2. the small model, evaluated against the route's hosted backend before it serves
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
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "evalSuiteRef": "vs-hosted",
               "analysisIntervalSeconds": 5}  # fmt: skip
    small = echo_model(namespace, "small", rollout, replicas=2)
    small["spec"]["servedModelName"] = "small"
    k8s.apply(small)
    wait_serving(k8s, "small", namespace)
    short = copy.deepcopy(small)
    short["spec"]["maxModelLen"] = SHORT_CONTEXT  # the fine-tuned candidate: a shorter context
    k8s.apply(short)
    try:
        promoted = wait_serving(k8s, "small", namespace, timeout=240)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'small', namespace)}") from None
    evaluation = promoted["status"]["rollout"]["lastEval"]
    assert (
        evaluation["verdict"] == "pass" and evaluation["reference"]["against"] == "assistant/hosted"
    )
    print(f"\n{json.dumps(evaluation['reference'])}")

    # 3. weighted: half of the first attempts to the small model
    small_backend = {"name": "small", "smallModelRef": {"name": "small"}, "weight": 50}
    weighted = stage(
        k8s, namespace,
        route(namespace, [small_backend, {**url_backend, "weight": 50}], fallback=["hosted"]),
        lambda probe: any(b == "small" for s, b, _, _ in probe),
    )  # fmt: skip
    # a long prompt the small model refuses (400) is the client's error: no fallback for it
    assert weighted["backends"].keys() == {"small", "hosted"}

    # 4. the small model serves; the hosted one is the cascade's upper tier
    cascade = {"tiers": ["small", "hosted"], "maxEscalationFraction": 0.2}
    served = stage(
        k8s, namespace,
        route(namespace, [{**small_backend, "weight": 100}, {**url_backend, "weight": 0}],
              cascade=cascade),
        lambda probe: all(t for _, _, t, _ in probe),
    )  # fmt: skip
    assert served["lost"] == 0 and served["wrong"] == 0
    assert served["backends"] == {"small": 950, "hosted": 50}  # the 5 % long prompts escalated
