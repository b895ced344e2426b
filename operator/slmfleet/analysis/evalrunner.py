"""Run an EvalSuite over the OpenAI API against the pods of one revision.

Cases are spread round-robin over the revision's pod endpoints (``ip:port``), the operator calling
pod IPs directly. A case whose request fails (HTTP error, timeout) counts as failed; when no
request at all got an answer the run is inconclusive (score None).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slmfleet.analysis.checkers import passes, score
from slmfleet.api.evalsuite import EvalCase, EvalSuiteSpec

Post = Callable[[str, dict[str, Any], float], dict[str, Any]]


def http_post(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


@dataclass(frozen=True)
class EvalRun:
    score: float | None
    failed_cases: tuple[str, ...]
    answered: int


def request_for(case: EvalCase, model: str) -> tuple[str, dict[str, Any]]:
    """(path, body) of the OpenAI request a case makes; greedy decoding for repeatability."""
    body: dict[str, Any] = {"model": model, "max_tokens": case.max_tokens, "temperature": 0}
    if case.messages is not None:
        body["messages"] = [m.to_body() for m in case.messages]
        return "/v1/chat/completions", body
    body["prompt"] = case.prompt
    return "/v1/completions", body


def answer_of(response: dict[str, Any]) -> str:
    choice = (response.get("choices") or [{}])[0]
    if "message" in choice:
        return str((choice.get("message") or {}).get("content") or "")
    return str(choice.get("text") or "")


def run_suite(
    suite: EvalSuiteSpec, endpoints: Sequence[str], model: str, post: Post = http_post
) -> EvalRun:
    """Run every case once; ``endpoints`` are ``host:port`` of the revision's ready pods."""
    if not endpoints:
        return EvalRun(None, (), 0)
    results: dict[str, bool] = {}
    answered = 0
    for i, case in enumerate(suite.cases):
        path, body = request_for(case, model)
        url = f"http://{endpoints[i % len(endpoints)]}{path}"
        try:
            response = post(url, body, float(suite.timeout_seconds))
        except (OSError, ValueError):
            results[case.name] = False
            continue
        answered += 1
        results[case.name] = passes(case, answer_of(response))
    failed = tuple(name for name, ok in results.items() if not ok)
    return EvalRun(score(results) if answered else None, failed, answered)
