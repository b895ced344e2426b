"""Config sources: file reloads on change, invalid files keep the previous snapshot."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from slmfleet.router.config import RouterConfig
from slmfleet.router.config_source import FileConfigSource, StaticConfigSource

pytestmark = pytest.mark.unit


def _document(weight_a: int) -> dict[str, Any]:
    backends = [
        {"name": "a", "model": "m", "weight": weight_a},
        {"name": "b", "model": "m", "weight": 100 - weight_a},
    ]
    return {"routes": [{"name": "triage", "backends": backends}]}


def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _weight_a(source: FileConfigSource) -> int:
    return source.current().routes[0].backends[0].weight


@pytest.mark.parametrize(
    ("writes", "expected_weights", "expected_results"),
    [
        # (text, mtime in s) per step; None repeats the previous file untouched.
        ([(json.dumps(_document(80)), 2)], [80], [True]),
        ([None], [50], []),  # unchanged file: nothing reloaded
        ([("{broken", 2), (json.dumps(_document(10)), 3)], [50, 10], [False, True]),
        ([('{"routes": [{"name": "x"}]}', 2)], [50], [False]),  # valid JSON, invalid config
        ([(json.dumps(_document(70)), 2), (json.dumps(_document(60)), 3)], [70, 60], [True, True]),
    ],
)
def test_poll_reloads_only_changed_valid_files(
    tmp_path: Path,
    writes: list[tuple[str, int] | None],
    expected_weights: list[int],
    expected_results: list[bool],
) -> None:
    path = tmp_path / "router.json"
    _write(path, json.dumps(_document(50)), 1_000_000_000)
    results: list[bool] = []
    source = FileConfigSource(path, on_reload=results.append)
    assert _weight_a(source) == 50
    weights = []
    for write in writes:
        if write is not None:
            _write(path, write[0], write[1] * 1_000_000_000)
        source.poll_once()
        weights.append(_weight_a(source))
    assert weights == expected_weights
    assert results == expected_results


def test_a_bad_file_is_not_retried_until_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    _write(path, json.dumps(_document(50)), 1_000_000_000)
    results: list[bool] = []
    source = FileConfigSource(path, on_reload=results.append)
    _write(path, "{broken", 2_000_000_000)
    assert [source.poll_once() for _ in range(3)] == [False, False, False]
    assert results == [False]  # tried once
    assert source.reload() is False  # an explicit reload (SIGHUP) tries again
    assert results == [False, False]


def test_snapshot_held_by_a_request_does_not_change(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    _write(path, json.dumps(_document(50)), 1_000_000_000)
    source = FileConfigSource(path)
    held = source.current()
    _write(path, json.dumps(_document(90)), 2_000_000_000)
    assert source.poll_once() is True
    assert held.routes[0].backends[0].weight == 50
    assert _weight_a(source) == 90


def test_first_load_must_succeed(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError):
        FileConfigSource(path)


async def test_polling_task_picks_up_a_change(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    _write(path, json.dumps(_document(50)), 1_000_000_000)
    source = FileConfigSource(path, poll_interval=0.02)
    await source.start()
    try:
        _write(path, json.dumps(_document(20)), 2_000_000_000)
        for _ in range(100):  # bounded: 2 s at most
            if _weight_a(source) == 20:
                break
            await asyncio.sleep(0.02)
        assert _weight_a(source) == 20
    finally:
        await source.stop()


def test_static_source_replace() -> None:
    first = RouterConfig.model_validate(_document(50))
    second = RouterConfig.model_validate(_document(30))
    source = StaticConfigSource(first)
    assert source.current() is first
    source.replace(second)
    assert source.current() is second
