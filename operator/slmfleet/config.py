"""Operator settings, read once from the environment (the chart sets them)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from slmfleet.router.config import RouterDefaults

DEFAULT_ENGINE_IMAGE = "vllm/vllm-openai:v0.33.0"
DEFAULT_ROUTER_IMAGE = "ghcr.io/slmfleet/slmfleet:latest"


@dataclass(frozen=True)
class Settings:
    default_engine_image: str
    gpuclass_resync_seconds: float
    resync_seconds: float
    router_image: str = DEFAULT_ROUTER_IMAGE
    prometheus_url: str | None = None
    autoscale_interval_seconds: float = 10.0
    cost_window_seconds: int = 3600
    """The window of status.cost and status.cascade (a twelfth of it is one ledger bucket)."""
    cost_status_seconds: float = 60.0
    """The shortest time between two writes of status.cost that only move its figures."""
    router_allowed_hosts: tuple[str, ...] = ()
    """Hosts ModelRoute backend URLs may reach (``*.domain`` for subdomains); empty: any."""
    router_defaults: RouterDefaults = field(default_factory=RouterDefaults)
    network_policy: bool = False
    """Emit NetworkPolicies for engine and router pods."""
    prometheus_peer: dict[str, Any] | None = None
    """The NetworkPolicyPeer of Prometheus, allowed to scrape engine pods."""
    operator_namespace: str | None = None
    """Where the operator runs (the chart's downward API); its probe may reach engine pods."""
    downloader_image: str = DEFAULT_ROUTER_IMAGE
    """Image of the weight cache's download Jobs (the operator's own image)."""
    hub_endpoint: str | None = None
    """HF_ENDPOINT given to download Jobs (a Hub mirror); huggingface.co when unset."""
    """The routers' caps (body size and read time, concurrent and held requests, response size)."""


@cache
def settings() -> Settings:
    return Settings(
        default_engine_image=os.environ.get("SLMFLEET_ENGINE_IMAGE", DEFAULT_ENGINE_IMAGE),
        gpuclass_resync_seconds=float(os.environ.get("SLMFLEET_GPUCLASS_RESYNC_SECONDS", "60")),
        resync_seconds=float(os.environ.get("SLMFLEET_RESYNC_SECONDS", "3600")),
        router_image=os.environ.get("SLMFLEET_ROUTER_IMAGE", DEFAULT_ROUTER_IMAGE),
        prometheus_url=os.environ.get("SLMFLEET_PROMETHEUS_URL") or None,
        autoscale_interval_seconds=float(
            os.environ.get("SLMFLEET_AUTOSCALE_INTERVAL_SECONDS", "10")
        ),
        cost_window_seconds=int(os.environ.get("SLMFLEET_COST_WINDOW_SECONDS", "3600")),
        cost_status_seconds=float(os.environ.get("SLMFLEET_COST_STATUS_SECONDS", "60")),
        router_allowed_hosts=hosts_list(os.environ.get("SLMFLEET_ROUTER_ALLOWED_HOSTS", "")),
        router_defaults=_router_defaults(),
        network_policy=os.environ.get("SLMFLEET_NETWORK_POLICY", "false").lower() == "true",
        prometheus_peer=json.loads(os.environ.get("SLMFLEET_PROMETHEUS_PEER") or "null"),
        operator_namespace=os.environ.get("SLMFLEET_OPERATOR_NAMESPACE") or None,
        downloader_image=os.environ.get("SLMFLEET_DOWNLOADER_IMAGE")
        or os.environ.get("SLMFLEET_ROUTER_IMAGE", DEFAULT_ROUTER_IMAGE),
        hub_endpoint=os.environ.get("SLMFLEET_HF_ENDPOINT") or None,
    )


def _router_defaults() -> RouterDefaults:
    """The routers' caps from the environment; each unset one keeps the router's default."""
    given = {
        "max_body_bytes": os.environ.get("SLMFLEET_ROUTER_MAX_BODY_BYTES"),
        "body_read_timeout_seconds": os.environ.get("SLMFLEET_ROUTER_BODY_READ_TIMEOUT_SECONDS"),
        "max_concurrent_requests": os.environ.get("SLMFLEET_ROUTER_MAX_CONCURRENT_REQUESTS"),
        "max_held_requests": os.environ.get("SLMFLEET_ROUTER_MAX_HELD_REQUESTS"),
        "max_response_bytes": os.environ.get("SLMFLEET_ROUTER_MAX_RESPONSE_BYTES"),
    }
    return RouterDefaults.model_validate({k: float(v) for k, v in given.items() if v})


def hosts_list(text: str) -> tuple[str, ...]:
    """A comma-separated host list, lower-cased, blanks dropped."""
    return tuple(h.strip().lower() for h in text.split(",") if h.strip())


_watched: set[str] = set()


def watch_namespaces(namespaces: list[str]) -> None:
    """Set at startup: the namespaces the operator watches (empty: all of them)."""
    _watched.clear()
    _watched.update(namespaces)


def watched(namespace: str | None) -> bool:
    """Whether a namespaced object is the operator's to handle (its RBAC may cover no other)."""
    return not _watched or namespace in _watched
