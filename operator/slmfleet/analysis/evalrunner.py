"""Run eval cases over the OpenAI API against one side: a revision's pods or a hosted endpoint.

Cases are spread round-robin over the side's base URLs (``http://ip:port`` of pods, the operator
calling pod IPs directly, or a hosted API's base), ``concurrency`` requests in flight. A case whose
request fails (HTTP error, timeout) counts as failed; when no request at all got an answer the run
is inconclusive (score None). Past ``deadline`` (a ``time.monotonic()`` instant) no request is
sent and the run is incomplete: its score is None too.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slmfleet.analysis.checkers import passes
from slmfleet.analysis.judge import graded_pass, judge_request
from slmfleet.api.evalsuite import EvalCase

Post = Callable[[str, dict[str, Any], float, Mapping[str, str]], dict[str, Any]]
DEFAULT_CONCURRENCY = 16


def http_post(
    url: str, payload: dict[str, Any], timeout: float, headers: Mapping[str, str]
) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


@dataclass(frozen=True)
class Target:
    """Who answers: base URLs (without /v1), the model name to send, extra headers."""

    bases: tuple[str, ...]
    model: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def pods(cls, endpoints: Sequence[str], model: str) -> Target:
        return cls(tuple(f"http://{e}" for e in endpoints), model)


@dataclass(frozen=True)
class EvalRun:
    results: Mapping[str, bool | None]
    """Case name -> passed (judge cases apart); None when the request got no answer or was
    never sent."""
    cases: int
    answered: int
    sent: int
    judged: Mapping[str, bool | None] = field(default_factory=dict)
    """Judge case name -> graded PASS; None when the answer or the grade is missing."""

    @property
    def complete(self) -> bool:
        return self.sent == self.cases + len(self.judged)

    @property
    def judge_score(self) -> float | None:
        """Fraction of judge cases graded PASS; None unless every one was graded."""
        grades = list(self.judged.values())
        if not grades or any(g is None for g in grades):
            return None
        return sum(1 for g in grades if g) / len(grades)

    @property
    def score(self) -> float | None:
        """Fraction of all cases passed (unanswered ones fail); None without a complete run
        that got at least one answer."""
        if not self.complete or not self.answered or not self.cases:
            return None
        return sum(1 for ok in self.results.values() if ok) / self.cases

    @property
    def failed_cases(self) -> tuple[str, ...]:
        return tuple(name for name, ok in self.results.items() if not ok)


NO_RUN = EvalRun({}, 0, 0, 0)


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


def _ask(
    post: Post, target: Target, index: int, path: str, body: dict[str, Any], left: float
) -> str:
    url = target.bases[index % len(target.bases)] + path
    return answer_of(post(url, body, left, target.headers))


def run_suite(
    cases: Sequence[EvalCase],
    target: Target,
    timeout: float,
    post: Post = http_post,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    judge: Target | None = None,
    counted: Callable[[], None] | None = None,
) -> EvalRun:
    """Run every case once against ``target``, at most ``concurrency`` at a time; ``judge``
    grades the answers of judge cases (ungraded without one); ``counted`` is called as each
    case ends (answered, failed or not sent)."""
    if not target.bases or not cases:
        return EvalRun({c.name: None for c in cases}, len(cases), 0, 0)

    def one(index: int) -> tuple[bool, bool | None]:
        try:
            return case_outcome(index)
        finally:
            if counted is not None:
                counted()

    def case_outcome(index: int) -> tuple[bool, bool | None]:
        """(sent, passed) of one case."""
        case = cases[index]
        left = timeout if deadline is None else min(timeout, deadline - time.monotonic())
        if left <= 0:
            return False, None
        path, body = request_for(case, target.model)
        try:
            answer = _ask(post, target, index, path, body, left)
            if case.checker != "judge":
                return True, passes(case, answer)
            if judge is None or not judge.bases:
                return True, None
            left = timeout if deadline is None else min(timeout, deadline - time.monotonic())
            path, body = judge_request(case, answer, judge.model)
            return True, graded_pass(_ask(post, judge, index, path, body, max(left, 0.001)))
        except (OSError, ValueError):
            return True, None

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(cases)))) as pool:
        outcomes = list(pool.map(one, range(len(cases))))
    pairs = list(zip(cases, outcomes, strict=True))
    results = {c.name: ok for c, (_, ok) in pairs if c.checker != "judge"}
    judged = {c.name: ok for c, (_, ok) in pairs if c.checker == "judge"}
    answered = sum(1 for _, ok in outcomes if ok is not None)
    sent = sum(1 for was_sent, _ in outcomes if was_sent)
    return EvalRun(results, len(results), answered, sent, judged)
