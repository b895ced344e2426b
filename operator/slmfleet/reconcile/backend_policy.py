"""Which external backends a ModelRoute may use, and with which Secrets (pure).

A url backend sends prompts, and with ``apiKeySecretRef`` a Secret's value, to another host. The
owner of a Secret allows that by labelling it ``slmfleet.io/usable-by=router``; the platform team
can limit the hosts with the chart's ``routerAllowedHosts``. A route that breaks either rule does
not start at all (it is Stalled, naming the backend and the Secret or host), so the router never
holds the Secret and never calls the host; the namespace's other routes are unaffected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from slmfleet import GROUP
from slmfleet.api.modelroute import ModelRoute, ModelRouteSpec
from slmfleet.conditions import Verdict

USABLE_BY_LABEL = f"{GROUP}/usable-by"
USABLE_BY_ROUTER = "router"


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable of the router filled from a Secret key."""

    env: str
    secret: str
    key: str


SecretLabels = Mapping[str, Mapping[str, str] | None]
"""Secret name -> its labels, or None when the Secret does not exist."""


def key_env_name(route: str, backend: str) -> str:
    """The router's environment variable holding a url backend's API key."""
    return "SLMFLEET_KEY_" + re.sub(r"[^A-Z0-9]", "_", f"{route}_{backend}".upper())


def client_keys_env_name(route: str) -> str:
    """The router's environment variable holding the API keys clients of a route must send."""
    return "SLMFLEET_CLIENT_KEYS_" + re.sub(r"[^A-Z0-9]", "_", route.upper())


def secret_names(routes: Iterable[ModelRoute]) -> set[str]:
    """The Secrets the routes' url backends name for their API keys."""
    names = {
        b.api_key_secret_ref.name
        for route in routes
        for b in route.spec.backends
        if b.api_key_secret_ref is not None
    }
    return names | {
        r.spec.client_key_secret_ref.name for r in routes if r.spec.client_key_secret_ref
    }


def usable_by_router(labels: Mapping[str, str]) -> bool:
    """The label value is a comma-separated list of users; `router` must be one of them."""
    users = labels.get(USABLE_BY_LABEL, "")
    return USABLE_BY_ROUTER in {u.strip() for u in users.split(",")}


def host_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Empty ``allowed`` allows any host; `*.example.com` allows its subdomains (not itself)."""
    if not allowed:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == entry:
            return True
    return False


def backend_refusal(
    spec: ModelRouteSpec, secrets: SecretLabels, allowed_hosts: Sequence[str]
) -> Verdict | None:
    """Why the route must not start (a Stalled verdict), or None when its url backends and
    client keys are allowed."""
    if spec.client_key_secret_ref is not None:
        refused = _secret_refusal("clientKeySecretRef", spec.client_key_secret_ref.name, secrets)
        if refused is not None:
            return refused
    for backend in spec.backends:
        if backend.url is None:
            continue
        if not host_allowed(backend.url, allowed_hosts):
            host = urlsplit(backend.url).hostname or backend.url
            message = (
                f"backend {backend.name!r}: host {host!r} is not in the operator's allowed hosts "
                f"({', '.join(allowed_hosts)})"
            )
            return Verdict(False, "HostNotAllowed", message, stalled=True)
        ref = backend.api_key_secret_ref
        if ref is not None:
            refused = _secret_refusal(f"backend {backend.name!r}", ref.name, secrets)
            if refused is not None:
                return refused
    return None


def _secret_refusal(user: str, secret: str, secrets: SecretLabels) -> Verdict | None:
    labels = secrets.get(secret)
    if labels is None:
        message = f"{user}: Secret {secret!r} does not exist"
        return Verdict(False, "SecretNotFound", message, stalled=True)
    if not usable_by_router(labels):
        message = (
            f"{user}: Secret {secret!r} is not labelled "
            f"{USABLE_BY_LABEL}={USABLE_BY_ROUTER}; its owner must allow the router to use it"
        )
        return Verdict(False, "SecretNotUsable", message, stalled=True)
    return None
