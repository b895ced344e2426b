"""A ConfigSource that watches the router's ConfigMap through the Kubernetes API.

For clusters where no kubelet mounts the ConfigMap as a file (the local development cluster),
or where the router should see changes sooner than the kubelet's sync period. The watch runs in
a thread (the kubernetes client is synchronous); each valid version of the ConfigMap's key is
swapped in whole, an invalid one is logged and counted and the previous snapshot stays.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client, config, watch
from pydantic import ValidationError

from slmfleet.router.config import RouterConfig, parse_config
from slmfleet.router.config_source import ReloadListener

log = logging.getLogger(__name__)

CONFIG_KEY = "config.json"


def api_client() -> client.ApiClient:
    """In-cluster credentials first, else $KUBECONFIG."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except config.ConfigException:
        return config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))


def split_ref(ref: str) -> tuple[str, str]:
    """`NAMESPACE/NAME` -> (namespace, name)."""
    namespace, _, name = ref.partition("/")
    if not namespace or not name or "/" in name:
        raise ValueError(f"expected NAMESPACE/NAME, got {ref!r}")
    return namespace, name


def config_from_data(data: Mapping[str, str] | None, key: str = CONFIG_KEY) -> RouterConfig:
    """The RouterConfig held under `key` of a ConfigMap's data (raises ValueError)."""
    text = (data or {}).get(key)
    if text is None:
        raise ValueError(f"the ConfigMap has no key {key!r}")
    return parse_config(text)


class KubernetesConfigSource:
    """The router config from ConfigMap `namespace/name`, kept current by a watch."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        key: str = CONFIG_KEY,
        api: client.ApiClient | None = None,
        core: Any = None,
        initial_wait: float = 60.0,
        on_reload: ReloadListener | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.namespace, self.name, self.key = namespace, name, key
        # `core` (a CoreV1Api or a stand-in with the same two methods) is for tests.
        self._core = core if core is not None else client.CoreV1Api(api or api_client())
        self._listeners: list[ReloadListener] = [on_reload] if on_reload else []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: watch.Watch | None = None
        self._seen: str | None = None
        self._config = self._first_load(initial_wait, sleep)

    def _first_load(self, wait: float, sleep: Callable[[float], None]) -> RouterConfig:
        """The first valid config; retried while the ConfigMap is missing or invalid."""
        deadline = time.monotonic() + wait
        while True:
            try:
                body = self._core.read_namespaced_config_map(self.name, self.namespace)
                loaded = config_from_data(body.data, self.key)
            except (client.ApiException, ValueError, ValidationError) as exc:
                if time.monotonic() >= deadline:
                    raise ValueError(f"ConfigMap {self.namespace}/{self.name}: {exc}") from exc
                sleep(0.5)
                continue
            self._seen = (body.data or {}).get(self.key)
            return loaded

    def current(self) -> RouterConfig:
        return self._config

    def add_listener(self, listener: ReloadListener) -> None:
        """Call `listener(ok)` after every reload attempt."""
        self._listeners.append(listener)

    def apply(self, data: Mapping[str, str] | None) -> bool | None:
        """Swap in the config from a ConfigMap's data; None when the key did not change."""
        text = (data or {}).get(self.key)
        if text == self._seen:
            return None
        self._seen = text
        try:
            self._config = config_from_data(data, self.key)
        except (ValueError, ValidationError) as exc:
            log.error(
                "ConfigMap %s/%s not applied, keeping the previous config: %s",
                self.namespace,
                self.name,
                exc,
            )
            ok = False
        else:
            log.info("router config reloaded from ConfigMap (%d routes)", len(self._config.routes))
            ok = True
        for listener in self._listeners:
            listener(ok)
        return ok

    def _run(self) -> None:
        selector = f"metadata.name={self.name}"
        while not self._stop.is_set():
            self._watch = watch.Watch()
            try:
                stream = self._watch.stream(
                    self._core.list_namespaced_config_map,
                    self.namespace,
                    field_selector=selector,
                    timeout_seconds=20,
                    _request_timeout=30,
                )
                for event in stream:
                    if self._stop.is_set():
                        break
                    obj: Any = event["object"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.apply(obj.data)
            except Exception as exc:  # the watch reconnects after any failure
                if not self._stop.is_set():
                    log.warning("ConfigMap watch restarted: %s", exc)
                    self._stop.wait(1.0)
            finally:
                self._watch.stop()

    async def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="router-configmap", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        self._thread = None  # a daemon thread; it ends at its next event or watch timeout
