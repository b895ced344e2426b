"""Addresses of the local cluster's serving pods, for the demo, the benchmarks and the tests."""

from __future__ import annotations

from slmfleet.builders.labels import label_selector
from slmfleet.builders.router import router_selector
from slmfleet.k8s import Kube
from slmfleet.reconcile.endpoints import pod_ready

ROUTER_SELECTOR = label_selector(router_selector())


def ready_pod_ips(kube: Kube, namespace: str, selector: str) -> list[str]:
    """The IPs of the Ready pods ``selector`` picks in ``namespace``, sorted."""
    pods = kube.list("Pod", namespace, selector)
    return sorted(p["status"]["podIP"] for p in pods if pod_ready(p) and p["status"].get("podIP"))


def router_ips(kube: Kube, namespace: str) -> list[str]:
    """The IPs of the namespace's Ready router pods (they listen on port 8080)."""
    return ready_pod_ips(kube, namespace, ROUTER_SELECTOR)
