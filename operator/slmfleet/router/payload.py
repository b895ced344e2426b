"""Pure rewrites of OpenAI request and response bodies as they pass through the router."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"


class BadRequestError(ValueError):
    """The client's body is not an OpenAI request the router can route."""


@dataclass(frozen=True)
class ParsedRequest:
    """What the router needs from a client body: the body itself, its model, streaming."""

    body: dict[str, Any]
    model: str
    stream: bool


def parse_request(raw: bytes) -> ParsedRequest:
    """Parse a completions body; raises BadRequestError with a message for the client."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("request body needs a string 'model'")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequestError("'stream' must be a boolean")
    return ParsedRequest(body=body, model=model, stream=stream)


def forward_body(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A copy of the client body with `model` set to the backend's model name."""
    return {**body, "model": model}


def asks_logprobs(body: Mapping[str, Any]) -> bool:
    """Whether the client itself asked for logprobs (chat: true, completions: a count >= 0)."""
    value = body.get("logprobs")
    return value is not None and value is not False


def with_logprobs(body: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A copy of the body that asks the backend for per-token logprobs."""
    if asks_logprobs(body):
        return dict(body)
    return {**body, "logprobs": True if path == CHAT_PATH else 1}


def strip_logprobs(response: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a response without choices[].logprobs (for clients that did not ask)."""
    choices = response.get("choices")
    if not isinstance(choices, list):
        return dict(response)
    cleaned = [
        {k: v for k, v in choice.items() if k != "logprobs"} if isinstance(choice, dict) else choice
        for choice in choices
    ]
    return {**response, "choices": cleaned}


def usage_tokens(response: Mapping[str, Any]) -> tuple[int, int]:
    """(prompt_tokens, completion_tokens) from a response's usage, zeros when absent."""
    usage = response.get("usage")
    if not isinstance(usage, Mapping):
        return 0, 0

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    return count("prompt_tokens"), count("completion_tokens")


def parse_response(raw: bytes) -> dict[str, Any] | None:
    """A response body as a JSON object, or None when it is not one."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None
