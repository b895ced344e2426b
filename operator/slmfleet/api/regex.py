"""User-written regular expressions, compiled with RE2 when the resource is parsed.

RE2 matches in time linear in the input and refuses what it cannot bound that way (backreferences,
lookaround), so a pattern in a ModelRoute can never stall the router on a hostile answer. The same
compiled form is used by the API models (a bad pattern is a validation error naming its field) and
by the router (which matches answers with it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_LENGTH = 4096
# RE2's memory budget for one compiled pattern; a pattern that needs more is refused.
MAX_PROGRAM_BYTES = 1 << 20


def _options() -> Any:
    options = re2.Options()
    options.dot_nl = True  # `.` matches newlines, as re.DOTALL did
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Any:
    """The compiled pattern; ValueError with RE2's reason when it is refused."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regex longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"regex is not valid RE2 syntax: {reason}") from None


def full_match(pattern: str, text: str) -> bool:
    """True when ``text`` matches ``pattern`` entirely (``.`` spans lines)."""
    return compile_regex(pattern).fullmatch(text) is not None


def check_regex(value: str | None) -> str | None:
    """A pydantic field validator: the pattern compiles."""
    if value is not None:
        compile_regex(value)
    return value
