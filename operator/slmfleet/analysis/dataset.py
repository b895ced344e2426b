"""Eval cases from a JSONL dataset (pure): one EvalCase in JSON per line.

Blank lines and lines starting with ``#`` are skipped. Every case is validated like an inline
one (same checkers, same limits); names must be unique. A dataset with any bad line is refused
as a whole, naming the first few lines, so a typo never silently shrinks the suite.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from slmfleet.api.eval_dataset import MAX_DATASET_CASES
from slmfleet.api.evalsuite import EvalCase

MAX_PROBLEMS = 5


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the lines."""


def _case(number: int, line: str) -> EvalCase | str:
    """The case on a line, or what is wrong with it."""
    try:
        body = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not JSON ({exc.msg})"
    try:
        return EvalCase.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "case"
        return f"line {number}: {where}: {first['msg']}"


def parse_jsonl(text: str) -> list[EvalCase]:
    """The cases of a JSONL document; :class:`DatasetError` when any line is bad."""
    cases: list[EvalCase] = []
    problems: list[str] = []
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        case = _case(number, line)
        if isinstance(case, EvalCase) and case.name in names:
            case = f"line {number}: case name {case.name!r} is used twice"
        if isinstance(case, str):
            problems.append(case)
            continue
        names.add(case.name)
        cases.append(case)
    if problems:
        raise DatasetError("; ".join(problems[:MAX_PROBLEMS]))
    if not cases:
        raise DatasetError("no cases")
    if len(cases) > MAX_DATASET_CASES:
        raise DatasetError(f"{len(cases)} cases, more than {MAX_DATASET_CASES}")
    return cases
