"""The operator's API client: one per process, from in-cluster config or the kubeconfig."""

from __future__ import annotations

import os
from functools import cache

from kubernetes import client, config

from slmfleet.k8s import Kube


@cache
def kube_client() -> Kube:
    try:
        config.load_incluster_config()
        api = client.ApiClient()
    except config.ConfigException:
        # The client library reads $KUBECONFIG when it is imported; read it now instead.
        api = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))
    return Kube(api)
