"""Which external backends a ModelRoute may use, and with which Secrets (pure).

A url backend sends prompts, and with ``apiKeySecretRef`` a Secret's value, to another host. The
owner of a Secret allows that by labelling it ``slmfleet.io/usable-by=router``; the platform team
can limit the hosts with the chart's ``routerAllowedHosts``. A route that breaks either rule does
not start at all (it is Stalled, naming the backend and the Secret or host), so the router never
holds the Secret and never calls the host; the namespace's other routes are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from slmfleet import GROUP
from slmfleet.api.modelroute import ModelRoute, ModelRouteSpec
from slmfleet.conditions import Verdict

USABLE_BY_LABEL = f"{GROUP}/usable-by"
USABLE_BY_ROUTER = "router"

SecretLabels = Mapping[str, Mapping[str, str] | None]
"""Secret name -> its labels, or None when the Secret does not exist."""


def secret_names(routes: Iterable[ModelRoute]) -> set[str]:
    """The Secrets the routes' url backends name for their API keys."""
    return {
        b.api_key_secret_ref.name
        for route in routes
        for b in route.spec.backends
        if b.api_key_secret_ref is not None
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
    """Why the route must not start (a Stalled verdict), or None when its url backends are
    allowed."""
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
        if ref is None:
            continue
        labels = secrets.get(ref.name)
        if labels is None:
            message = f"backend {backend.name!r}: Secret {ref.name!r} does not exist"
            return Verdict(False, "SecretNotFound", message, stalled=True)
        if not usable_by_router(labels):
            message = (
                f"backend {backend.name!r}: Secret {ref.name!r} is not labelled "
                f"{USABLE_BY_LABEL}={USABLE_BY_ROUTER}; its owner must allow the router to use it"
            )
            return Verdict(False, "SecretNotUsable", message, stalled=True)
    return None
