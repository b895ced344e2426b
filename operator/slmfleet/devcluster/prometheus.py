"""Prometheus as a plain process scraping the cluster's annotated pods (pure config + start).

Pods annotated ``prometheus.io/scrape: "true"`` are scraped at ``podIP:prometheus.io/port``, labelled
with namespace, pod and their pod labels, as Kubernetes discovery with ``labelmap`` would do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from slmfleet.devcluster import tools
from slmfleet.devcluster.processes import ManagedProcess, ProcessSet, free_port, wait_until


def _label_name(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def scrape_targets(pods: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """file_sd target groups for running pods annotated ``prometheus.io/scrape: "true"``, with the
    labels Kubernetes pod discovery plus ``labelmap`` would give them (namespace, pod, pod labels)."""
    groups = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        notes = meta.get("annotations") or {}
        status = pod.get("status") or {}
        if notes.get("prometheus.io/scrape") != "true" or status.get("phase") != "Running":
            continue
        if not status.get("podIP") or meta.get("deletionTimestamp"):
            continue
        labels = {_label_name(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        labels.update({"namespace": meta.get("namespace", ""), "pod": meta.get("name", "")})
        labels["__metrics_path__"] = notes.get("prometheus.io/path", "/metrics")
        port = notes.get("prometheus.io/port", "80")
        groups.append({"targets": [f"{status['podIP']}:{port}"], "labels": labels})
    return sorted(groups, key=lambda g: g["targets"][0])


def _job(name: str, targets_file: Path, interval: str, **extra: Any) -> dict[str, Any]:
    return {
        "job_name": name,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": "1s"}],
        **extra,
    }


def scrape_config(targets_file: Path, interval: str = "1s") -> dict[str, Any]:
    """Scrape the pods listed in ``targets_file`` (kept current by the pod backer), and the
    operator process listed beside it (operator_targets_path, written when it starts).

    Debian's Prometheus is built without Kubernetes service discovery, so the local cluster
    writes the same targets that discovery would find into a file_sd file. The operator's own
    series keep their ``namespace`` label (a chart's ServiceMonitor sets ``honorLabels`` too).
    """
    operator = targets_file.with_name(OPERATOR_TARGETS)
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            _job("pods", targets_file, interval),
            _job("slmfleet-operator", operator, interval, honor_labels=True),
        ],
    }


OPERATOR_TARGETS = "operator-targets.json"


def targets_path(workdir: Path) -> Path:
    return workdir / "prometheus" / "targets.json"


def operator_targets_path(workdir: Path) -> Path:
    return workdir / "prometheus" / OPERATOR_TARGETS


def write_operator_target(path: Path, address: str | None) -> None:
    """Point the operator job at ``address`` (host:port), or at nothing."""
    groups = [{"targets": [address], "labels": {}}] if address else []
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups))
    tmp.replace(path)


def write_targets(path: Path, pods: Iterable[Mapping[str, Any]]) -> None:
    """Atomically replace the file_sd file, so Prometheus never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(scrape_targets(pods), indent=1))
    tmp.replace(path)


def start_prometheus(workdir: Path, procs: ProcessSet, timeout: float = 60.0) -> str:
    """Start Prometheus on a free loopback port; return its base URL."""
    folder = workdir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    if not targets_path(workdir).exists():
        write_targets(targets_path(workdir), [])
    if not operator_targets_path(workdir).exists():
        write_operator_target(operator_targets_path(workdir), None)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(targets_path(workdir))))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = procs.start(
        ManagedProcess(
            "prometheus",
            [
                str(prometheus_binary()),
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


def prometheus_binary() -> Path:
    """Prometheus comes from Debian's package, run as a plain process."""
    found = os.environ.get("SLMFLEET_PROMETHEUS_BIN") or shutil.which("prometheus")
    if found is None and Path("/usr/bin/prometheus").exists():
        found = "/usr/bin/prometheus"
    if found is None:
        raise tools.ToolError(
            "prometheus is not installed; run `apt-get install -y prometheus` (Debian)"
        )
    return Path(found)
