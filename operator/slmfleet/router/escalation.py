"""Pure cascade checks: should an answer from one tier be escalated to the next, and why."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from slmfleet.api.regex import full_match
from slmfleet.router.config import CascadePolicy


class EscalationReason(StrEnum):
    """Why an answer went to the next tier."""

    ERROR = "error"
    LENGTH = "length"
    INVALID = "invalid"
    UNCERTAIN = "uncertain"


def _first_choice(response: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return None
    return choices[0]


def answer_text(choice: Mapping[str, Any]) -> str:
    """The generated text of a choice: chat `message.content` or completions `text`."""
    message = choice.get("message")
    if isinstance(message, Mapping):
        content = message.get("content")
        return content if isinstance(content, str) else ""
    text = choice.get("text")
    return text if isinstance(text, str) else ""


VLLM_LOGPROB_FLOOR = -9999.0
"""What vLLM sends instead of -inf (and NaN) logprobs."""


def mean_logprob(choice: Mapping[str, Any]) -> float | None:
    """Mean token log-probability of a choice, or None when the backend sent none.

    Reads chat `logprobs.content[].logprob` or completions `logprobs.token_logprobs[]`. vLLM
    writes -9999.0 for a token whose logprob is -inf (entrypoints/openai/*/serving.py); that
    clamp is not a measurement, so such tokens are left out of the mean.
    """
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, Mapping):
        return None
    values: list[Any]
    content = logprobs.get("content")
    if isinstance(content, list):
        values = [item.get("logprob") for item in content if isinstance(item, Mapping)]
    else:
        token_logprobs = logprobs.get("token_logprobs")
        values = token_logprobs if isinstance(token_logprobs, list) else []
    numbers = [
        float(v)
        for v in values
        if isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and v > VLLM_LOGPROB_FLOOR
    ]
    return sum(numbers) / len(numbers) if numbers else None


def answer_is_valid(text: str, policy: CascadePolicy) -> bool:
    """True when the answer passes the policy's regex (full match) and JSON schema, if set."""
    stripped = text.strip()
    if policy.regex is not None and not full_match(policy.regex, stripped):
        return False
    check = policy.answer_check
    if check is not None:
        try:
            document = json.loads(stripped)
        except ValueError:
            return False
        if not check(document):
            return False
    return True


def should_escalate(
    response_json: Mapping[str, Any] | None, policy: CascadePolicy
) -> tuple[bool, EscalationReason | None]:
    """Whether to send the request to the next tier, and the first reason that applies.

    `response_json` is the backend's parsed answer, or None when the backend failed (connect
    error, timeout, non-2xx, unreadable body). Checks in order: error, length (finish_reason
    "length"), invalid (regex / JSON schema on the first choice's text), uncertain (mean token
    logprob below `min_mean_logprob`; an answer without logprobs is not judged uncertain).
    """
    choice = None
    if response_json is not None and "error" not in response_json:
        choice = _first_choice(response_json)
    if choice is None:
        return (True, EscalationReason.ERROR) if policy.escalate_on_error else (False, None)
    if policy.escalate_on_length and choice.get("finish_reason") == "length":
        return True, EscalationReason.LENGTH
    if not answer_is_valid(answer_text(choice), policy):
        return True, EscalationReason.INVALID
    if policy.min_mean_logprob is not None:
        mean = mean_logprob(choice)
        if mean is not None and mean < policy.min_mean_logprob:
            return True, EscalationReason.UNCERTAIN
    return False, None
