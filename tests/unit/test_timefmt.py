"""RFC 3339 timestamps: the format the operator writes and what it reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from slmfleet.timefmt import format_time, parse_time

pytestmark = pytest.mark.unit

T = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("moment", "whole_seconds", "text"),
    [
        (T, False, "2026-03-01T12:00:30Z"),
        (T.replace(microsecond=250000), False, "2026-03-01T12:00:30.250000Z"),
        (T.replace(microsecond=250000), True, "2026-03-01T12:00:30Z"),
        (T.astimezone(PLUS_TWO), False, "2026-03-01T12:00:30Z"),  # written in UTC
    ],
)
def test_format_time(moment: datetime, whole_seconds: bool, text: str) -> None:
    assert format_time(moment, whole_seconds=whole_seconds) == text


def test_format_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        format_time(datetime(2026, 3, 1, 12, 0, 30))


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-03-01T12:00:30Z", T),
        ("2026-03-01T14:00:30+02:00", T),
        ("2026-03-01T12:00:30.250000Z", T.replace(microsecond=250000)),
    ],
)
def test_parse_time(text: str, moment: datetime) -> None:
    assert parse_time(text) == moment


@pytest.mark.parametrize("text", ["2026-03-01T12:00:30", "yesterday", ""])
def test_parse_refuses_what_is_not_an_aware_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_round_trip() -> None:
    moment = T.replace(microsecond=123456)
    assert parse_time(format_time(moment)) == moment
