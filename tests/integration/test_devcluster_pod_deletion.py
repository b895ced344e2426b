"""A deleted pod of the local cluster ends as a kubelet ends it: not Ready first, still answering
through its preStop wait, then SIGTERM; the pod object goes only after that.

(EndpointSlices here never list pods: their loopback addresses are invalid endpoints, so the
operator reads engine pods' readiness instead; Ready is what this test follows.)"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

PRESTOP_SECONDS = 5


def sim_pod(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "nodeSelector": {"nvidia.com/gpu.product": "Tesla-T4"},
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:v0.11.0",
                    "args": ["Qwen/Qwen3-0.6B", "--served-model-name", name],
                    "ports": [{"containerPort": 8000, "name": "http"}],
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    "lifecycle": {
                        "preStop": {"exec": {"command": ["sleep", str(PRESTOP_SECONDS)]}}
                    },
                }
            ],
        },
    }


def answers(ip: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{ip}:8000/health", timeout=3) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def ready(pod: client.V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def read(core: client.CoreV1Api, name: str, namespace: str) -> client.V1Pod | None:
    try:
        return core.read_namespaced_pod(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def test_a_deleted_pod_leaves_the_endpoints_then_keeps_answering_until_its_end(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    Kube(kube).apply(sim_pod("ending", namespace))
    pod = poll("a Ready pod", lambda: (p := read(core, "ending", namespace)) and ready(p) and p)
    ip = pod.status.pod_ip
    poll("the pod answering", lambda: answers(ip))

    core.delete_namespaced_pod("ending", namespace)

    def terminating() -> client.V1Pod | None:
        current = read(core, "ending", namespace)
        if current is None or current.metadata.deletion_timestamp is None or ready(current):
            return None
        return current

    poll("the pod being deleted and not Ready", terminating)
    # Not Ready (so out of the router's endpoints), yet the process still serves: the preStop
    # wait has not run out.
    assert answers(ip)
    assert read(core, "ending", namespace) is not None
    poll("the pod object gone", lambda: read(core, "ending", namespace) is None)
    assert not answers(ip)


def test_a_pod_without_a_process_is_still_removed(kube: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(kube)
    body = sim_pod("plain", namespace)
    body["spec"]["containers"][0]["image"] = "busybox:1.36"
    Kube(kube).apply(body)
    poll("a Ready pod", lambda: (p := read(core, "plain", namespace)) and ready(p))
    core.delete_namespaced_pod("plain", namespace)
    poll("the pod object gone", lambda: read(core, "plain", namespace) is None)
