"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controller-manager, scheduler, kwok.

Every component binds 127.0.0.1 on a free random port and writes its log under the cluster's folder.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slmfleet.devcluster import tools
from slmfleet.devcluster.kwok_stages import pod_stages
from slmfleet.devcluster.processes import ManagedProcess, ProcessSet, free_port, wait_until

SERVICE_CIDR = "10.96.0.0/16"


@dataclass(frozen=True)
class Endpoints:
    """How to reach the control plane."""

    server: str
    token: str
    kubeconfig: Path


def _probe_https(url: str, token: str) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:
        return bool(resp.status == 200)


def _probe_http(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)


def write_kubeconfig(path: Path, server: str, token: str, ca: Path | None = None) -> None:
    """A kubeconfig with token auth. ``ca`` is the file holding the API server's self-signed
    certificate chain (its CA included), which clients then verify; without it they skip TLS
    verification."""
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca.read_bytes()).decode()
    else:
        cluster["insecure-skip-tls-verify"] = True
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "slmfleet-dev", "cluster": cluster}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [
            {"name": "slmfleet-dev", "context": {"cluster": "slmfleet-dev", "user": "admin"}}
        ],
        "current-context": "slmfleet-dev",
    }
    path.write_text(yaml.safe_dump(config))


def _service_account_keys(pki: Path) -> tuple[Path, Path]:
    key, pub = pki / "sa.key", pki / "sa.pub"
    if not key.exists():
        pki.mkdir(parents=True, exist_ok=True)
        for argv in (
            ["openssl", "genrsa", "-out", str(key), "2048"],
            ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)],
        ):
            subprocess.run(argv, check=True, capture_output=True)
    return key, pub


def start_control_plane(workdir: Path, procs: ProcessSet, timeout: float = 60.0) -> Endpoints:
    """Start etcd, kube-apiserver, controller-manager, scheduler and kwok; wait until all are ready."""
    logs = workdir / "logs"
    token = secrets.token_hex(16)

    etcd_port, peer_port = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    etcd = procs.start(
        ManagedProcess(
            "etcd",
            [
                str(tools.require("etcd")),
                "--name=default",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            logs / "etcd.log",
        )
    )
    wait_until("etcd", lambda: _probe_http(f"{etcd_url}/health"), timeout, etcd)

    pki = workdir / "pki"
    sa_key, sa_pub = _service_account_keys(pki)
    (pki / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
    api_port = free_port()
    server = f"https://127.0.0.1:{api_port}"
    apiserver = procs.start(
        ManagedProcess(
            "kube-apiserver",
            [
                str(tools.require("kube-apiserver")),
                f"--etcd-servers={etcd_url}",
                f"--cert-dir={pki}",
                f"--secure-port={api_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                f"--token-auth-file={pki / 'tokens.csv'}",
                f"--service-account-issuer={server}",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                "--enable-priority-and-fairness=false",
                "--v=1",
            ],
            logs / "kube-apiserver.log",
        )
    )
    wait_until(
        "kube-apiserver", lambda: _probe_https(f"{server}/readyz", token), timeout, apiserver
    )
    kubeconfig = workdir / "kubeconfig"
    # the API server wrote its self-signed chain (serving certificate, then its CA) on start
    write_kubeconfig(kubeconfig, server, token, pki / "apiserver.crt")

    procs.start(
        ManagedProcess(
            "kube-controller-manager",
            [
                str(tools.require("kube-controller-manager")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--service-account-private-key-file={sa_key}",
                f"--root-ca-file={pki / 'apiserver.crt'}",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller",
                # A fleet of a thousand Deployments: the default 20 requests/s would make the
                # control plane, not the operator, the bottleneck (large clusters raise it too).
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--v=1",
            ],
            logs / "kube-controller-manager.log",
        )
    )
    procs.start(
        ManagedProcess(
            "kube-scheduler",
            [
                str(tools.require("kube-scheduler")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--v=1",
            ],
            logs / "kube-scheduler.log",
        )
    )
    stages = workdir / "kwok-stages.yaml"
    stages.write_text(yaml.safe_dump_all(pod_stages()))
    procs.start(
        ManagedProcess(
            "kwok",
            [
                str(tools.require("kwok")),
                f"--config={stages}",
                f"--kubeconfig={kubeconfig}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{free_port()}",
                "--cidr=127.250.0.1/16",
                # Heartbeats through node Leases, as kubelets send them. Without, kwok's status
                # heartbeat came every ~55 s, past the node lifecycle controller's 50 s grace:
                # every node went NotReady each minute, every pod with it, and every model
                # went Progressing and back (two status writes and four Events per model).
                "--node-lease-duration-seconds=40",
            ],
            logs / "kwok.log",
        )
    )
    return Endpoints(server=server, token=token, kubeconfig=kubeconfig)
