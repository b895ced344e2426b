"""How long the router holds a request for a SmallModel that has no ready endpoint (pure).

A request for a model at zero replicas waits in the router while a replica starts. The router's
``holdWhenNoEndpointsSeconds`` (30 s) is too short for a model whose pods take longer than that
to become Ready; such a backend gets its own hold, sized from the serving revision's last
measured cold start (``status.coldStarts``, see cold_start.py): that time times ``HOLD_FACTOR``,
rounded up to ``HOLD_STEP_SECONDS``, never below the default and never past the request deadline
(``requestTimeoutSeconds``). A backend whose hold would be the default gets none (the router
uses the default), so a fast model's config does not change when its cold start is recorded.
"""

from __future__ import annotations

import math

from slmfleet.router.config import RouterDefaults

HOLD_FACTOR = 1.5
"""Margin over the last cold start: a new pod may wait for a node, start on a busier one, or
read the weights while other replicas read them too."""

HOLD_STEP_SECONDS = 5
"""Holds are whole multiples of this, so a cold start measured a little differently on the next
revision leaves the router's config (and its generation) as it is."""


def backend_hold(expected_seconds: float | None, defaults: RouterDefaults) -> float | None:
    """The hold of a backend whose pods are expected to take ``expected_seconds`` to be Ready;
    None when the default applies (nothing measured, a short cold start, holds turned off)."""
    default = defaults.hold_when_no_endpoints_seconds
    if expected_seconds is None or default <= 0:
        return None
    steps = math.ceil(max(0.0, expected_seconds) * HOLD_FACTOR / HOLD_STEP_SECONDS)
    hold = min(float(steps * HOLD_STEP_SECONDS), defaults.request_timeout_seconds)
    return hold if hold > default else None
