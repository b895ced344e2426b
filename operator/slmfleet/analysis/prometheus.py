"""Metric providers: the protocol, and Prometheus over its HTTP API (urllib, with timeouts).

A provider answers one number for a PromQL query, or None when it cannot: no samples, more
than one series, a non-number, an error or an unreachable server. None is inconclusive.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


class MetricProvider(Protocol):
    def query(self, promql: str, now: datetime) -> float | None: ...


def scalar_of(body: Any) -> float | None:
    """The one number in a Prometheus /api/v1/query answer, else None."""
    if not isinstance(body, dict) or body.get("status") != "success":
        return None
    data: dict[str, Any] = body.get("data") or {}
    kind: Any = data.get("resultType")
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            value = float(result[1])
        elif kind == "vector" and isinstance(result, list) and len(result) == 1:
            value = float(result[0]["value"][1])
        else:
            return None
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value


class PrometheusProvider:
    """Instant queries against ``url`` (such as http://prometheus:9090)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, promql: str, now: datetime) -> float | None:
        params = urllib.parse.urlencode({"query": promql, "time": f"{now.timestamp():.3f}"})
        try:
            with urllib.request.urlopen(
                f"{self.url}/api/v1/query?{params}", timeout=self.timeout
            ) as resp:
                body = json.loads(resp.read())
        except (OSError, ValueError, urllib.error.URLError) as err:
            log.info("prometheus query failed (inconclusive): %s", err)
            return None
        return scalar_of(body)
