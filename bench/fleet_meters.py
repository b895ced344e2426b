"""The fleet bench's meters: CPU and memory of processes, the API server's and the operator's
request counts, and profiles (bench/fleet_scale.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

WRITE_VERBS = ("apply", "patch", "create", "update", "delete")  # the operator's metric's names
ALL_VERBS = (*WRITE_VERBS, "get", "list")
APISERVER_WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_of(pids: Mapping[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items() if Path(f"/proc/{pid}").exists()}


def cpu_used(before: Mapping[str, float], pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds each process (and this bench, "bench") used since ``before``."""
    after = cpu_of(pids)
    return {k: round(after[k] - before[k], 1) for k in before if k in after}


def apiserver_metrics(api: client.ApiClient) -> str:
    method, url, headers, body, post = api.param_serialize(
        method="GET", resource_path="/metrics", header_params={"Accept": "text/plain"},
        auth_settings=["BearerToken"],
    )  # fmt: skip
    resp = api.call_api(method, url, header_params=headers, body=body, post_params=post)
    resp.read()
    return str(resp.data.decode())


def apiserver_requests(api: client.ApiClient) -> float:
    """The API server's apiserver_request_total, summed over every label set."""
    total = 0.0
    for line in apiserver_metrics(api).splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def apiserver_requests_by(api: client.ApiClient) -> dict[str, float]:
    """The API server's apiserver_request_total by ``resource[/subresource] VERB``, every
    client."""
    out: dict[str, float] = {}
    for labels, value in _samples(apiserver_metrics(api), "apiserver_request_total"):
        resource = labels.get("resource") or labels.get("path", "?")
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        key = f"{resource} {labels.get('verb', '?')}"
        out[key] = out.get(key, 0.0) + value
    return out


def requests_between(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Requests by key between two readings, the largest first."""
    return dict(sorted(writes_between(before, after).items(), key=lambda kv: -kv[1]))


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def apiserver_model_writes(api: client.ApiClient) -> float:
    """Write requests to SmallModels (and their status) the API server counted, every client."""
    return sum(
        value
        for labels, value in _samples(apiserver_metrics(api), "apiserver_request_total")
        if labels.get("resource") == "smallmodels" and labels.get("verb") in APISERVER_WRITE_VERBS
    )


def operator_writes(address: str | None, verbs: Collection[str] = WRITE_VERBS) -> dict[str, float]:
    """The operator's API writes (or calls of ``verbs``) so far, by ``resource verb`` (its
    slmfleet_api_calls_total); empty when it serves no metrics or does not label calls by
    resource (the baseline)."""
    if not address:
        return {}
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=30) as resp:  # loopback
        text = resp.read().decode()
    out: dict[str, float] = {}
    for labels, value in _samples(text, "slmfleet_api_calls_total"):
        if labels.get("verb") in verbs and "resource" in labels:
            key = f"{labels['resource']} {labels['verb']}"
            out[key] = out.get(key, 0.0) + value
    return out


def writes_between(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


class WriteMarks:
    """The operator's writes by resource and the API server's SmallModel writes, at marks."""

    def __init__(self, api: client.ApiClient, address: str | None) -> None:
        self.api, self.address = api, address
        self.marks: dict[str, tuple[dict[str, float], float]] = {}
        self.calls: dict[str, float] = {}  # every call of the operator's own, reads included

    def mark(self, name: str) -> None:
        self.marks[name] = (operator_writes(self.address), apiserver_model_writes(self.api))
        self.calls[name] = sum(operator_writes(self.address, ALL_VERBS).values())

    def phases(self, created: int) -> dict[str, Any]:
        """Writes in each phase: the operator's by resource, and every client's SmallModel
        writes less the ``created`` models the bench created."""
        spans = {"converge": ("start", "ready"), "settle": ("ready", "settled"),
                 "idle": ("idle", "idle end")}  # fmt: skip
        ours, every = {}, {}
        for phase, (first, last) in spans.items():
            (ours0, all0), (ours1, all1) = self.marks[first], self.marks[last]
            ours[phase] = writes_between(ours0, ours1)
            every[phase] = all1 - all0 - (created if phase == "converge" else 0)
        idle_calls = self.calls["idle end"] - self.calls["idle"]
        return {"operator_writes": ours, "apiserver_smallmodel_writes": every,
                "operator_idle_calls": idle_calls}  # fmt: skip


def profile(pid: int, out: Path, seconds: float | None = None) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` without pausing it, as collapsed stacks: for ``seconds``, or until
    sent SIGINT (see ``stop_profile``)."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy on PATH (pip install py-spy)")
    duration = ["--duration", str(int(seconds))] if seconds else []
    cmd = [spy, "record", "--pid", str(pid), *duration, "--rate", "50",
           "--nonblocking", "--threads", "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_apiserver(api: client.ApiClient, out: Path, seconds: int = 60) -> threading.Thread:
    """The API server's own CPU profile (pprof) over the next ``seconds``, written to ``out``
    (read it with ``go tool pprof -top``)."""

    def fetch() -> None:
        method, url, headers, body, post = api.param_serialize(
            method="GET", resource_path="/debug/pprof/profile", query_params=[("seconds", seconds)],
            auth_settings=["BearerToken"],
        )  # fmt: skip
        resp = api.call_api(method, url, header_params=headers, body=body, post_params=post,
                            _request_timeout=seconds + 60)  # fmt: skip
        resp.read()
        out.write_bytes(resp.data)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    return thread


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    """py-spy writes what it sampled when interrupted."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
