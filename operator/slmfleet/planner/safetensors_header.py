"""Read tensor headers of safetensors files in a local model snapshot (no tensor data is read).

A safetensors file starts with an 8-byte little-endian header length followed by a JSON object
mapping tensor names to {"dtype", "shape", "data_offsets"} (plus an optional "__metadata__").
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from slmfleet.planner.param_count import TensorHeader

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
_LENGTH_BYTES = 8
_MAX_HEADER_BYTES = 100 * 1024 * 1024


def read_header(path: Path) -> list[TensorHeader]:
    """The tensors listed in one safetensors file's header. Raises ValueError if malformed."""
    with path.open("rb") as handle:
        prefix = handle.read(_LENGTH_BYTES)
        if len(prefix) != _LENGTH_BYTES:
            raise ValueError(f"{path.name}: too short for a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > _MAX_HEADER_BYTES:
            raise ValueError(f"{path.name}: header of {length} bytes is not plausible")
        raw = handle.read(length)
    if len(raw) != length:
        raise ValueError(f"{path.name}: header is truncated")
    header = json.loads(raw)
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}: header is not a JSON object")
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shape = tuple(int(dim) for dim in info["shape"])
        tensors.append(TensorHeader(name=name, dtype=str(info["dtype"]), shape=shape))
    return tensors


def snapshot_tensors(snapshot: Path) -> list[TensorHeader] | None:
    """Tensors of the checkpoint in a snapshot folder, or None unless every shard is present.

    Reads `model.safetensors`, or every shard named by `model.safetensors.index.json`.
    """
    single = snapshot / SINGLE_FILE
    if single.is_file():
        return read_header(single)
    index = snapshot / INDEX_FILE
    if not index.is_file():
        return None
    weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
    shards = sorted(set(weight_map.values()))
    if not shards or not all((snapshot / shard).is_file() for shard in shards):
        return None
    tensors: list[TensorHeader] = []
    for shard in shards:
        tensors.extend(read_header(snapshot / shard))
    return tensors
