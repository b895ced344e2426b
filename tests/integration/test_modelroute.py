"""ModelRoutes end to end: the operator deploys the namespace's router, the router serves them.

SmallModels are backed by echo-mode simulators (each answer is the request's last message), the
router pods by real `python -m slmfleet.router` processes that watch their ConfigMap through the
API. Requests go to a router pod's address on loopback; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes import client

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.manifests import repo_root
from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

EXAMPLE = repo_root() / "manifests" / "examples" / "smallmodel-qwen3-0.6b-t4.yaml"
API = "slmfleet.io/v1alpha1"


def smallmodel(name: str, namespace: str, served: str) -> dict[str, Any]:
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"] = {"name": name, "namespace": namespace}
    body["spec"].update(
        servedModelName=served, replicas=1, minReplicas=1, maxReplicas=2,
        engine={"extraArgs": ["--mode", "echo"]},
    )  # fmt: skip
    return dict(body)


def modelroute(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": API, "kind": "ModelRoute", "metadata": meta, "spec": spec}


def ref(name: str, model: str, weight: int = 100) -> dict[str, Any]:
    return {"name": name, "smallModelRef": {"name": model}, "weight": weight}


def chat(model: str, content: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 16}


def health(ip: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://{ip}:8080/health", timeout=2) as resp:
            return dict(json.loads(resp.read()))
    except (OSError, ValueError):
        return {}


def route_ready(k8s: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    obj = k8s.get("ModelRoute", name, namespace) or {}
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == "Ready" and cond["status"] == "True":
            return obj
    return None


async def send(
    urls: list[str], bodies: list[tuple[dict[str, Any], dict[str, str]]], concurrency: int = 16
) -> list[tuple[int, str, str, dict[str, str]]]:
    """(status, backend header, answer text, headers) per body, spread over the router pods."""
    limit = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(index: int, body: dict[str, Any], headers: dict[str, str]) -> Any:
            async with limit:
                url = urls[index % len(urls)] + "/v1/chat/completions"
                async with session.post(url, json=body, headers=headers) as resp:
                    raw = await resp.read()
                    text = ""
                    if resp.status == 200:
                        text = json.loads(raw)["choices"][0]["message"]["content"]
                    backend = resp.headers.get("x-slmfleet-backend", "")
                    return resp.status, backend, text, dict(resp.headers)

        return list(await asyncio.gather(*(one(i, b, h) for i, (b, h) in enumerate(bodies))))


@pytest.fixture(scope="module")
def fleet(
    operator: OperatorProcess, k8s: Kube, kube: client.ApiClient, gpuclasses: list[str],
    cluster: DevCluster,
) -> Iterator[tuple[str, list[str]]]:  # fmt: skip
    """A namespace with three SmallModels, four ModelRoutes and the operator's router."""
    namespace = f"mr-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        for name, served in (("small", "sm-small"), ("large", "sm-large"), ("victim", "sm-victim")):
            k8s.apply(smallmodel(name, namespace, served))
        routes = [
            modelroute("triage", namespace, match={"model": "support-triage"},
                       backends=[ref("small", "small", 80), ref("large", "large", 20)]),
            modelroute("triage-acme", namespace,
                       match={"model": "support-triage", "headers": {"x-tenant": "acme"}},
                       backends=[ref("large", "large")]),
            modelroute("classify", namespace,
                       backends=[ref("small", "small"), ref("large", "large")],
                       cascade={"tiers": ["small", "large"], "regex": "yes|no",
                                "maxEscalationFraction": 1.0}),
            modelroute("fragile", namespace,
                       backends=[ref("victim", "victim"), ref("large", "large", 0)],
                       fallback=["large"]),
        ]  # fmt: skip
        for body in routes:
            k8s.apply(body)
        for body in routes:
            name = body["metadata"]["name"]
            try:
                poll(f"ModelRoute {name} Ready", lambda n=name: route_ready(k8s, namespace, n), 120)
            except TimeoutError as err:
                status = (k8s.get("ModelRoute", name, namespace) or {}).get("status")
                raise AssertionError(f"{err}; status: {status}") from None

        # 4 ModelRoutes and 3 implicit routes (the served names), on both router replicas.
        ips = poll(
            "both router pods serving 7 routes",
            lambda: (
                found
                if len(found := [ip for ip in router_ips(k8s, namespace) if health(ip).get("routes") == 7]) == 2
                else None
            ),
            120,
        )  # fmt: skip
        yield namespace, [f"http://{ip}:8080" for ip in ips]
    finally:
        core.delete_namespace(namespace)
        cluster.check()


def test_status_lists_resolved_backends(k8s: Kube, fleet: tuple[str, list[str]]) -> None:
    namespace, _ = fleet
    status = (k8s.get("ModelRoute", "triage", namespace) or {})["status"]
    assert status["models"] == ["triage", "support-triage"]
    assert [(b["name"], b["model"], b["weight"], b["readyEndpoints"]) for b in status["backends"]] == [
        ("small", "sm-small", 80, 1), ("large", "sm-large", 20, 1)]  # fmt: skip
    assert status["unavailable"] == []
    cm = k8s.get("ConfigMap", "slmfleet-router", namespace) or {}
    names = [r["name"] for r in json.loads(cm["data"]["config.json"])["routes"]]
    assert sorted(names) == sorted(
        ["classify", "fragile", "triage", "triage-acme", "sm-large", "sm-small", "sm-victim"]
    )


def test_routes_by_model_name_header_and_weight(fleet: tuple[str, list[str]]) -> None:
    _, urls = fleet
    bodies = [(chat("sm-small", "hi"), {}), (chat("sm-large", "hi"), {}),
              (chat("support-triage", "x"), {"x-tenant": "acme"}), (chat("nope", "x"), {})]  # fmt: skip
    results = asyncio.run(send(urls, bodies))
    assert [(s, b) for s, b, _, _ in results] == [
        (200, "small"), (200, "large"), (200, "large"), (404, "")]  # fmt: skip
    assert results[0][2] == "hi"  # the echo simulator answered through the router
    split = asyncio.run(send(urls, [(chat("support-triage", f"q{i}"), {}) for i in range(1000)]))
    statuses = Counter(s for s, _, _, _ in split)
    served = Counter(b for _, b, _, _ in split)
    assert statuses == {200: 1000}
    # 80/20 over 1,000 draws: mean 800, standard deviation sqrt(1000*0.8*0.2) = 12.6; +-60 is
    # more than 4.5 standard deviations.
    assert 740 <= served["small"] <= 860, served
    assert served["small"] + served["large"] == 1000


def test_cascade_escalates_exactly_the_invalid_answers(fleet: tuple[str, list[str]]) -> None:
    _, urls = fleet
    cases = [("yes", "0"), ("no", "0"), ("maybe", "1"), ("yes please", "1"), ("NO", "1")]
    results = asyncio.run(send(urls, [(chat("classify", p), {}) for p, _ in cases], 1))
    for (prompt, tier), (status, backend, text, headers) in zip(cases, results, strict=True):
        assert status == 200 and text == prompt
        assert headers["x-slmfleet-cascade-tier"] == tier, prompt
        assert backend == ("small" if tier == "0" else "large"), prompt
        assert headers.get("x-slmfleet-escalations") == (None if tier == "0" else "invalid")


def test_fallback_when_a_backend_process_dies(
    k8s: Kube, cluster: DevCluster, fleet: tuple[str, list[str]]
) -> None:
    namespace, urls = fleet
    before = asyncio.run(send(urls, [(chat("fragile", "a"), {})] * 4))
    assert {(s, b) for s, b, _, _ in before} == {(200, "victim")}
    assert cluster.backer is not None
    for pod in k8s.list("Pod", namespace, "slmfleet.io/model=victim"):
        cluster.backer.kill(namespace, pod["metadata"]["name"])
    after = asyncio.run(send(urls, [(chat("fragile", "b"), {})] * 20))
    assert {(s, b) for s, b, _, _ in after} == {(200, "large")}


def test_config_reload_under_load_drops_nothing(k8s: Kube, fleet: tuple[str, list[str]]) -> None:
    namespace, urls = fleet

    async def load() -> list[tuple[int, str, str, dict[str, str]]]:
        results: list[tuple[int, str, str, dict[str, str]]] = []
        deadline = time.monotonic() + 60
        switched_at: float | None = None
        while time.monotonic() < deadline:
            batch = await send(urls, [(chat("support-triage", "r"), {})] * 40, 8)
            results.extend(batch)
            if switched_at is None:
                patch = {
                    "spec": {"backends": [ref("small", "small", 0), ref("large", "large", 100)]}
                }
                await asyncio.to_thread(k8s.merge_patch, "ModelRoute", "triage", patch, namespace)
                switched_at = time.monotonic()
            elif all(b == "large" for _, b, _, _ in batch):
                break  # both replicas serve the new weights
        return results

    results = asyncio.run(load())
    assert Counter(s for s, _, _, _ in results) == {200: len(results)}
    assert all(b == "large" for _, b, _, _ in results[-40:])
    assert len(results) >= 80


def test_examples_are_accepted_and_the_cel_rules_refuse_on_the_server(
    operator: OperatorProcess, k8s: Kube, namespace: str
) -> None:
    examples = sorted((repo_root() / "manifests" / "examples").glob("modelroute-*.yaml"))
    names = []
    for path in examples:
        for doc in yaml.safe_load_all(path.read_text()):
            doc["metadata"]["namespace"] = namespace
            k8s.apply(doc)
            names.append(doc["metadata"]["name"])
    assert len(names) == 4

    # The url backend's Secret is not in this namespace: that route does not start at all.
    expected = {name: "NoBackends" for name in names} | {"support-triage-acme": "SecretNotFound"}

    def stalled_without_models() -> bool:
        reasons = {}
        for name in names:
            status = (k8s.get("ModelRoute", name, namespace) or {}).get("status") or {}
            stalled = [c for c in status.get("conditions") or [] if c["type"] == "Stalled"]
            reasons.update((name, c["reason"]) for c in stalled if c["status"] == "True")
        return reasons == expected

    poll("example routes Stalled: their SmallModels (or Secret) are not in this namespace",
         stalled_without_models, 60)  # fmt: skip
    bad = modelroute("bad", namespace, backends=[ref("a", "x")], fallback=["nope"])
    with pytest.raises(client.ApiException) as refused:
        k8s.apply(bad)
    assert "fallback names a backend the route does not have" in str(refused.value.body)


def test_gateway_api_provider_applies_a_weighted_httproute(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    gateway_api: list[str],
    namespace: str,
) -> None:
    """The real Gateway API CRDs validate what the operator renders (their CEL rules too)."""
    body = modelroute(
        "summarize", namespace, provider="gateway-api", parentRefs=[{"name": "gw"}],
        match={"model": "summarize"}, timeoutSeconds=20,
        backends=[ref("stable", "stable", 80), ref("candidate", "candidate", 20)],
    )  # fmt: skip
    for model in ("stable", "candidate"):
        k8s.apply(smallmodel(model, namespace, f"{model}-served"))
    k8s.apply(body)
    route = poll("HTTPRoute rendered", lambda: k8s.get("HTTPRoute", "summarize", namespace), 90)
    rule = route["spec"]["rules"][0]
    assert rule["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "stable", "port": 8000, "weight": 80},
        {"group": "", "kind": "Service", "name": "candidate", "port": 8000, "weight": 20},
    ]  # the CRD's defaults filled in group and kind
    assert rule["timeouts"] == {"request": "20000ms"}
    assert [h["name"] for h in rule["matches"][0]["headers"]] == ["x-gateway-model-name"]
    parent = route["spec"]["parentRefs"][0]
    assert parent["name"] == "gw" and parent["kind"] == "Gateway"
    assert route["metadata"]["ownerReferences"][0]["kind"] == "ModelRoute"
    poll("ModelRoute summarize Ready", lambda: route_ready(k8s, namespace, "summarize"), 90)
    # The router does not serve gateway routes: only the implicit routes are in its config.
    cm = k8s.get("ConfigMap", "slmfleet-router", namespace) or {}
    routes = json.loads(cm["data"]["config.json"])["routes"]
    assert sorted(r["name"] for r in routes) == ["candidate-served", "stable-served"]
