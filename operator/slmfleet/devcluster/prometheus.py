"""Prometheus as a plain process, discovering pods through the local API server (pure config + start).

The scrape config is the one a production cluster would use: Kubernetes pod discovery, keeping pods
annotated ``prometheus.io/scrape: "true"`` and scraping ``podIP:prometheus.io/port``.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from slmfleet.devcluster import tools
from slmfleet.devcluster.controlplane import Endpoints
from slmfleet.devcluster.processes import ManagedProcess, ProcessSet, free_port, wait_until


def scrape_config(endpoints: Endpoints, token_file: Path, interval: str = "1s") -> dict[str, Any]:
    """A Prometheus config that scrapes annotated pods found through the API server."""
    k8s_auth = {
        "api_server": endpoints.server,
        "authorization": {"credentials_file": str(token_file)},
        "tls_config": {"insecure_skip_verify": True},
    }
    relabel = [
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            "regex": "true",
            "action": "keep",
        },
        {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
        {
            "source_labels": [
                "__meta_kubernetes_pod_ip",
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
            ],
            "regex": "(.+);(\\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "regex": "(.+)",
            "target_label": "__metrics_path__",
        },
        {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": "pods",
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "kubernetes_sd_configs": [{"role": "pod", **k8s_auth}],
                "relabel_configs": relabel,
            }
        ],
    }


def start_prometheus(
    workdir: Path, procs: ProcessSet, endpoints: Endpoints, timeout: float = 60.0
) -> str:
    """Start Prometheus on a free loopback port; return its base URL."""
    folder = workdir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    token_file = folder / "token"
    token_file.write_text(endpoints.token)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(endpoints, token_file)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = procs.start(
        ManagedProcess(
            "prometheus",
            [
                str(tools.prometheus_binary()),
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=2h",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            workdir / "logs" / "prometheus.log",
        )
    )
    wait_until("prometheus", lambda: _ready(url), timeout, proc)
    return url


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
        return bool(resp.status == 200)


def instant_query(url: str, promql: str) -> list[dict[str, Any]]:
    """Run one PromQL instant query; return the result vector (test and demo helper)."""
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as resp:
        body = json.loads(resp.read())
    if body.get("status") != "success":
        raise RuntimeError(f"prometheus query failed: {body}")
    return list(body["data"]["result"])
