"""Judge one model answer against an eval case (pure): exact, contains, regex, json-schema, one-of."""

from __future__ import annotations

import json

from slmfleet.api.evalsuite import EvalCase
from slmfleet.api.regex import compile_regex
from slmfleet.router.schema_check import answer_check


def _norm(text: str) -> str:
    return text.strip()


def passes(case: EvalCase, answer: str) -> bool:
    """Whether ``answer`` satisfies the case's checker (surrounding whitespace is ignored)."""
    text = _norm(answer)
    if case.checker == "exact":
        return text == _norm(case.expected or "")
    if case.checker == "contains":
        return _norm(case.expected or "") in text
    if case.checker == "regex":
        try:
            return compile_regex(case.expected or "").search(text) is not None
        except ValueError:
            return False
    if case.checker == "one-of":
        labels = {_norm(label).lower() for label in case.one_of or ()}
        return text.lower().rstrip(".") in labels
    if case.checker == "json-schema":
        try:
            value = json.loads(text)
        except ValueError:
            return False
        return answer_check(case.json_schema or {})(value)
    raise ValueError(f"unknown checker {case.checker!r}")


def score(results: dict[str, bool]) -> float:
    """Fraction of cases that passed; 0 for an empty run."""
    return sum(results.values()) / len(results) if results else 0.0
