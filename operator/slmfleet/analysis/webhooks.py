"""Webhook gates: POST the rollout's state to a team's own check; a 2xx answer passes.

pre-rollout gates are checked at the analyses of the first step, pre-promotion gates at those of
the last step (before promotion). Anything but a 2xx answer, a timeout included, fails the gate.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from slmfleet.analysis.verdict import WEBHOOK_PREFIX
from slmfleet.api.rollout import Webhook
from slmfleet.api.rollout_status import CheckResult

Call = Callable[[str, bytes, float], int]


def http_status(url: str, payload: bytes, timeout: float) -> int:
    request = urllib.request.Request(url, payload, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def due_hooks(hooks: Sequence[Webhook], step: int, steps: int) -> list[Webhook]:
    """The gates that apply at step index ``step`` of ``steps``."""
    out = [h for h in hooks if h.type == "pre-rollout" and step == 0]
    out += [h for h in hooks if h.type == "pre-promotion" and step == steps - 1]
    return out


def run_hooks(
    hooks: Sequence[Webhook], payload: dict[str, Any], call: Call = http_status
) -> tuple[CheckResult, ...]:
    body = json.dumps(payload).encode()
    out = []
    for hook in hooks:
        code = call(hook.url, body, float(hook.timeout_seconds))
        out.append(
            CheckResult(
                name=f"{WEBHOOK_PREFIX}{hook.name}",
                value=float(code),
                threshold="2xx",
                verdict="pass" if 200 <= code < 300 else "fail",
            )
        )
    return tuple(out)
