"""The local control plane is real: scheduling on kwok GPU nodes, simulator-backed pods, Prometheus."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from slmfleet.devcluster.cluster import DevCluster
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.prometheus import instant_query
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration


def sim_deployment(
    name: str, namespace: str, replicas: int, gpus: int, product: str
) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"},
                },
                "spec": {
                    "nodeSelector": {"nvidia.com/gpu.product": product},
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.11.0",
                            "args": [
                                "Qwen/Qwen3-0.6B",
                                "--served-model-name",
                                name,
                                "--dtype",
                                "half",
                            ],
                            "ports": [{"containerPort": 8000, "name": "http"}],
                            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                        }
                    ],
                },
            },
        },
    }


def ready_pods(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [
        p
        for p in pods
        if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
    ]


def http_get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=3) as resp:
        return resp.status, resp.read().decode()


def test_nodes_are_kwok_gpu_nodes(kube: client.ApiClient) -> None:
    nodes = {n.metadata.name: n for n in client.CoreV1Api(kube).list_node().items}
    assert nodes["gpu-l4-0"].status.allocatable["nvidia.com/gpu"] == "4"
    assert nodes["gpu-t4-0"].metadata.labels["nvidia.com/gpu.product"] == "Tesla-T4"
    assert nodes["gpu-a100-0"].spec.pod_cidr.startswith("127.")


def test_deployment_runs_on_gpu_nodes_backed_by_simulator(
    cluster: DevCluster, kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    Kube(kube).apply(sim_deployment("chat", namespace, replicas=2, gpus=1, product="NVIDIA-L4"))
    pods = poll(
        "2 Ready pods",
        lambda: (
            len(ready_pods(core, namespace, "chat")) == 2 and ready_pods(core, namespace, "chat")
        ),
    )
    for pod in pods:
        assert pod.spec.node_name.startswith("gpu-l4-"), pod.spec.node_name
        ip = pod.status.pod_ip
        assert ip.startswith("127."), ip
        status, body = poll(
            f"/v1/models on {ip}", lambda ip=ip: _try_get(f"http://{ip}:8000/v1/models")
        )
        assert status == 200
        assert [m["id"] for m in json.loads(body)["data"]] == ["chat"]
        status, metrics = http_get(f"http://{ip}:8000/metrics")
        assert "vllm:num_requests_running" in metrics

    assert cluster.prometheus_url is not None
    query = f'vllm:num_requests_running{{namespace="{namespace}"}}'
    series = poll(
        "Prometheus samples from both pods",
        lambda: len(r := instant_query(str(cluster.prometheus_url), query)) == 2 and r,
        timeout=60,
    )
    assert {s["metric"]["pod"] for s in series} == {p.metadata.name for p in pods}
    assert all(s["metric"]["app"] == "chat" for s in series)  # pod labels carried over


def _try_get(url: str) -> tuple[int, str] | None:
    try:
        return http_get(url)
    except OSError:
        return None


def test_pod_asking_for_too_many_gpus_stays_pending(kube: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(kube)
    Kube(kube).apply(sim_deployment("huge", namespace, replicas=1, gpus=16, product="NVIDIA-L4"))

    def unschedulable() -> str | None:
        for pod in core.list_namespaced_pod(namespace, label_selector="app=huge").items:
            for cond in pod.status.conditions or []:
                if cond.type == "PodScheduled" and cond.reason == "Unschedulable":
                    return str(cond.message)
        return None

    message = poll("the scheduler's Unschedulable reason", unschedulable)
    assert "Insufficient nvidia.com/gpu" in message
    pods = core.list_namespaced_pod(namespace, label_selector="app=huge").items
    assert [p.status.phase for p in pods] == ["Pending"]


def test_killed_backing_process_stops_answering(
    cluster: DevCluster, kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    Kube(kube).apply(sim_deployment("fragile", namespace, replicas=1, gpus=1, product="Tesla-T4"))
    pod = poll("1 Ready pod", lambda: ready_pods(core, namespace, "fragile"))[0]
    url = f"http://{pod.status.pod_ip}:8000/health"
    assert poll("health", lambda: _try_get(url))[0] == 200
    assert cluster.backer is not None
    cluster.backer.kill(namespace, pod.metadata.name)
    assert _try_get(url) is None
