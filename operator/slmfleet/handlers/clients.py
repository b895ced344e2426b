"""The operator's API client: one per process, from in-cluster config or the kubeconfig."""

from __future__ import annotations

import os
from functools import cache

from kubernetes import client, config

from slmfleet.k8s import Kube

# One pooled connection per worker thread and a few for Event posting and the CLI paths, so
# requests never wait for (or overflow) the pool.
POOL_SIZE = 32


@cache
def kube_client() -> Kube:
    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        # The client library reads $KUBECONFIG when it is imported; read it now instead.
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"), client_configuration=cfg)
    cfg.connection_pool_maxsize = POOL_SIZE
    return Kube(client.ApiClient(cfg))
