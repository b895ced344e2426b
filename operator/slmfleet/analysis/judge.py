"""The judge checker (pure): how the reference model is asked to grade an answer with a rubric,
and how its reply is read. A reply that does not start with PASS is a fail."""

from __future__ import annotations

from typing import Any

from slmfleet.api.evalsuite import EvalCase

JUDGE_SYSTEM = (
    "You grade an answer against a rubric. Reply with the single word PASS when the answer "
    "meets the rubric, otherwise with the single word FAIL."
)


def question_of(case: EvalCase) -> str:
    if case.messages is not None:
        return "\n".join(f"{m.role}: {m.content}" for m in case.messages)
    return case.prompt or ""


def judge_request(case: EvalCase, answer: str, model: str) -> tuple[str, dict[str, Any]]:
    """(path, body) of the chat request that asks ``model`` to grade ``answer``."""
    user = f"Rubric:\n{case.rubric or ''}\n\nQuestion:\n{question_of(case)}\n\nAnswer:\n{answer}"
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": user},
        ],
        "max_tokens": 4,
        "temperature": 0,
    }
    return "/v1/chat/completions", body


def graded_pass(reply: str) -> bool:
    return reply.strip().upper().startswith("PASS")
