"""Helpers for integration tests; the cluster, CRD, GPUClass and operator fixtures are shared with
the e2e tests and live in tests/conftest.py."""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return {}
