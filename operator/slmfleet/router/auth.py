"""Per-route client API keys: a route with ``clientKeysEnv`` answers only requests that carry
``Authorization: Bearer <key>`` with one of the keys in that environment variable (one per line,
filled from a Secret the ModelRoute names). No keys configured for such a route refuses everyone.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from slmfleet.router.config import Route


def client_keys(route: Route, env: Mapping[str, str]) -> list[str]:
    if route.client_keys_env is None:
        return []
    return [k.strip() for k in env.get(route.client_keys_env, "").splitlines() if k.strip()]


def authorized(route: Route, headers: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Whether the request may use ``route`` (always, when the route has no keys)."""
    if route.client_keys_env is None:
        return True
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    given = token.strip().encode()
    # Compare with every key, in constant time each, so timing tells nothing about which matched.
    matches = [hmac.compare_digest(given, key.encode()) for key in client_keys(route, env)]
    return any(matches)
