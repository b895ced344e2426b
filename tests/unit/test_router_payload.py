"""Request/response rewrites and error shapes of the router."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slmfleet.router.config import Backend
from slmfleet.router.errors import (
    ErrorKind,
    classify_status,
    failure_status,
    is_retryable,
    openai_error,
)
from slmfleet.router.payload import (
    CHAT_PATH,
    COMPLETIONS_PATH,
    BadRequestError,
    asks_logprobs,
    forward_body,
    parse_request,
    parse_response,
    strip_logprobs,
    usage_tokens,
    with_logprobs,
)
from slmfleet.router.upstream import target_url, upstream_headers

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "model", "stream"),
    [
        (b'{"model": "m", "messages": []}', "m", False),
        (b'{"model": "triage", "stream": true}', "triage", True),
        (b'{"model": "x", "stream": false, "prompt": "hi"}', "x", False),
    ],
)
def test_parse_request_accepts(raw: bytes, model: str, stream: bool) -> None:
    parsed = parse_request(raw)
    assert (parsed.model, parsed.stream) == (model, stream)
    assert parsed.body == json.loads(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"messages": []}', "string 'model'"),
        (b'{"model": 3}', "string 'model'"),
        (b'{"model": ""}', "string 'model'"),
        (b'{"model": "m", "stream": "yes"}', "'stream' must be a boolean"),
    ],
)
def test_parse_request_rejects(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse_request(raw)


def test_forward_body_replaces_model_and_keeps_the_rest() -> None:
    body = {"model": "support-triage", "messages": [{"role": "user", "content": "x"}], "n": 1}
    forwarded = forward_body(body, "qwen2.5-3b")
    assert forwarded == {**body, "model": "qwen2.5-3b"}
    assert body["model"] == "support-triage"  # the client body is not modified


@pytest.mark.parametrize(
    ("body", "path", "expected_logprobs", "asked"),
    [
        ({"model": "m"}, CHAT_PATH, True, False),
        ({"model": "m"}, COMPLETIONS_PATH, 1, False),
        ({"model": "m", "logprobs": False}, CHAT_PATH, True, False),
        ({"model": "m", "logprobs": True, "top_logprobs": 3}, CHAT_PATH, True, True),
        ({"model": "m", "logprobs": 0}, COMPLETIONS_PATH, 0, True),
        ({"model": "m", "logprobs": 5}, COMPLETIONS_PATH, 5, True),
    ],
)
def test_with_logprobs(
    body: dict[str, Any], path: str, expected_logprobs: Any, asked: bool
) -> None:
    assert asks_logprobs(body) is asked
    rewritten = with_logprobs(body, path)
    assert rewritten["logprobs"] == expected_logprobs
    assert rewritten.get("top_logprobs") == body.get("top_logprobs")


def test_strip_logprobs_removes_only_logprobs() -> None:
    response = {
        "id": "x",
        "choices": [
            {"index": 0, "text": "a", "logprobs": {"token_logprobs": [-1]}},
            {"index": 1, "text": "b"},
        ],
    }
    assert strip_logprobs(response) == {
        "id": "x",
        "choices": [{"index": 0, "text": "a"}, {"index": 1, "text": "b"}],
    }
    assert "logprobs" in response["choices"][0]
    assert strip_logprobs({"error": {}}) == {"error": {}}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}}, (12, 30)),
        ({"usage": {"prompt_tokens": 5}}, (5, 0)),
        ({"usage": {"prompt_tokens": -1, "completion_tokens": "7"}}, (0, 0)),
        ({"usage": None}, (0, 0)),
        ({}, (0, 0)),
    ],
)
def test_usage_tokens(response: dict[str, Any], expected: tuple[int, int]) -> None:
    assert usage_tokens(response) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b'{"a": 1}', {"a": 1}), (b"[1]", None), (b"", None), (b"data: {}", None)],
)
def test_parse_response(raw: bytes, expected: dict[str, Any] | None) -> None:
    assert parse_response(raw) == expected


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (200, None, False),
        (302, None, False),
        (400, ErrorKind.CLIENT, False),
        (429, ErrorKind.CLIENT, False),
        (500, ErrorKind.SERVER, True),
        (503, ErrorKind.SERVER, True),
    ],
)
def test_classify_status(status: int, kind: ErrorKind | None, retryable: bool) -> None:
    assert classify_status(status) == kind
    assert is_retryable(kind) is retryable


@pytest.mark.parametrize(
    ("kind", "status", "retryable"),
    [
        (ErrorKind.CONNECT, 502, True),
        (ErrorKind.TIMEOUT, 504, True),
        (ErrorKind.BODY_TOO_LARGE, 413, False),
        (ErrorKind.NO_ROUTE, 404, False),
        (ErrorKind.NO_ENDPOINTS, 503, False),
        (ErrorKind.BAD_REQUEST, 400, False),
    ],
)
def test_failure_status(kind: ErrorKind, status: int, retryable: bool) -> None:
    assert failure_status(kind) == status
    assert is_retryable(kind) is retryable


def test_openai_error_shape() -> None:
    body = openai_error("no such model", ErrorKind.NO_ROUTE, code="model_not_found", param="model")
    assert body == {
        "error": {
            "message": "no such model",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert openai_error("x", ErrorKind.TIMEOUT)["error"]["code"] == "timeout"


@pytest.mark.parametrize(
    ("backend", "endpoint", "path", "url"),
    [
        ({"endpoints": ["10.1.2.3:8000"]}, "10.1.2.3:8000", CHAT_PATH, "http://10.1.2.3:8000/v1/chat/completions"),
        ({"url": "https://api.example.com/v1"}, None, CHAT_PATH, "https://api.example.com/v1/chat/completions"),
        ({"url": "https://api.example.com/v1/"}, None, COMPLETIONS_PATH, "https://api.example.com/v1/completions"),
    ],
)  # fmt: skip
def test_target_url(backend: dict[str, Any], endpoint: str | None, path: str, url: str) -> None:
    assert target_url(Backend(name="b", model="m", **backend), endpoint, path) == url


@pytest.mark.parametrize(
    ("env", "authorization"),
    [({"KEY": "sk-123"}, "Bearer sk-123"), ({}, None), ({"KEY": ""}, None)],
)
def test_upstream_headers_add_the_api_key_from_env(
    env: dict[str, str], authorization: str | None
) -> None:
    backend = Backend(name="b", model="m", url="https://api.example.com/v1", api_key_env="KEY")
    headers = upstream_headers(backend, env)
    assert headers.get("Authorization") == authorization
    assert headers["Content-Type"] == "application/json"
