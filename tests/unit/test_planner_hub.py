"""Model facts from a Hugging Face cache laid out on disk, offline; catalog fallback; errors."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import errors as hub_errors

from slmfleet.planner import FactsUnavailable, clear_facts_cache, load_facts, resolve_facts
from slmfleet.planner.hub import explain_hub_error

pytestmark = pytest.mark.unit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TINY_CONFIG: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 1000,
}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("the Hub must not be contacted offline")

    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", no_network)
    clear_facts_cache()
    yield
    clear_facts_cache()


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A safetensors file: 8-byte little-endian header length, JSON header, zeroed data."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    sizes = {"BF16": 2, "F16": 2, "F32": 4, "I32": 4, "U8": 1}
    for name, (dtype, shape) in tensors.items():
        length = sizes[dtype] * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def make_snapshot(cache: Path, repo: str, config: dict[str, Any], files: dict[str, bytes]) -> Path:
    """models--org--name/{refs/main, snapshots/<commit>/...}, as huggingface_hub lays it out."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))
    for name, content in files.items():
        (snapshot / name).write_bytes(content)
    return snapshot


# The config estimate for TINY_CONFIG: embedding 1000 x 64 (tied) + 2 layers x (q 64x64, k and v
# 64x32, o 64x64, MLP 3 x 64 x 128, norms 2 x 64) + final norm 64.
TINY_CONFIG_COUNT = 1000 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64


@pytest.mark.usefixtures("offline")
def test_single_file_header_gives_param_count(tmp_path: Path) -> None:
    tensors = {
        "model.embed_tokens.weight": ("BF16", [1000, 64]),
        "model.layers.0.mlp.up_proj.weight": ("BF16", [128, 64]),
        "lm_head.weight": ("BF16", [1000, 64]),  # tied: the engine does not load it
    }
    make_snapshot(
        tmp_path, "org/tiny", TINY_CONFIG, {"model.safetensors": safetensors_bytes(tensors)}
    )
    facts = load_facts("org/tiny", "main", cache_dir=tmp_path)
    assert (facts.param_count, facts.param_count_source) == (1000 * 64 + 128 * 64, "safetensors")
    assert (facts.layers, facts.kv_heads, facts.head_dim) == (2, 2, 64 // 4)
    assert facts.torch_dtype == "bfloat16"


@pytest.mark.usefixtures("offline")
def test_commit_revision_and_in_process_cache(tmp_path: Path) -> None:
    tensors = {"model.embed_tokens.weight": ("BF16", [1000, 64])}
    snapshot = make_snapshot(
        tmp_path, "org/tiny", TINY_CONFIG, {"model.safetensors": safetensors_bytes(tensors)}
    )
    first = load_facts("org/tiny", COMMIT, cache_dir=tmp_path)
    (snapshot / "config.json").unlink()  # a second call must not read the disk again
    assert load_facts("org/tiny", COMMIT, cache_dir=tmp_path) == first
    assert first.param_count == 1000 * 64


@pytest.mark.usefixtures("offline")
def test_sharded_checkpoint_with_packed_awq_weights(tmp_path: Path) -> None:
    config = {**TINY_CONFIG, "quantization_config": {"quant_method": "awq", "bits": 4}}
    shard_1 = {"model.embed_tokens.weight": ("F16", [1000, 64])}
    shard_2 = {
        "model.layers.0.mlp.up_proj.qweight": ("I32", [64, 16]),  # 8 four-bit values per int32
        "model.layers.0.mlp.up_proj.scales": ("F16", [1, 128]),
        "model.layers.0.mlp.up_proj.qzeros": ("I32", [1, 16]),
    }
    index = {
        "weight_map": {
            **dict.fromkeys(shard_1, "model-00001-of-00002.safetensors"),
            **dict.fromkeys(shard_2, "model-00002-of-00002.safetensors"),
        }
    }
    make_snapshot(
        tmp_path,
        "org/tiny-awq",
        config,
        {
            "model.safetensors.index.json": json.dumps(index).encode(),
            "model-00001-of-00002.safetensors": safetensors_bytes(shard_1),
            "model-00002-of-00002.safetensors": safetensors_bytes(shard_2),
        },
    )
    facts = load_facts("org/tiny-awq", "main", cache_dir=tmp_path)
    assert facts.param_count == 1000 * 64 + 64 * 16 * 8
    assert (facts.quant_method, facts.quant_bits) == ("awq", 4)


@pytest.mark.usefixtures("offline")
def test_missing_shard_falls_back_to_config_count(tmp_path: Path) -> None:
    index = {
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    }
    make_snapshot(
        tmp_path,
        "org/tiny",
        TINY_CONFIG,
        {
            "model.safetensors.index.json": json.dumps(index).encode(),
            "model-00001-of-00002.safetensors": safetensors_bytes({"a": ("BF16", [4, 4])}),
        },
    )
    facts = load_facts("org/tiny", "main", cache_dir=tmp_path)
    assert (facts.param_count, facts.param_count_source) == (TINY_CONFIG_COUNT, "config")


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize(
    "raw",
    [
        b"\x01\x00",  # shorter than the 8-byte header length
        struct.pack("<Q", 64) + b"{}",  # header cut short
        struct.pack("<Q", 9) + b"not json!",
    ],
)
def test_unreadable_header_falls_back_to_config_count(tmp_path: Path, raw: bytes) -> None:
    make_snapshot(tmp_path, "org/tiny", TINY_CONFIG, {"model.safetensors": raw})
    facts = load_facts("org/tiny", "main", cache_dir=tmp_path)
    assert (facts.param_count, facts.param_count_source) == (TINY_CONFIG_COUNT, "config")


@pytest.mark.usefixtures("offline")
def test_offline_and_not_cached_is_actionable(tmp_path: Path) -> None:
    with pytest.raises(FactsUnavailable, match="HF_HUB_OFFLINE=1") as caught:
        load_facts("org/absent", "main", cache_dir=tmp_path)
    assert (caught.value.repo, caught.value.revision) == ("org/absent", "main")
    assert str(tmp_path) in caught.value.message


@pytest.mark.usefixtures("offline")
def test_resolve_prefers_hub_then_catalog(tmp_path: Path) -> None:
    make_snapshot(tmp_path, "Qwen/Qwen3-0.6B", {**TINY_CONFIG, "num_hidden_layers": 3}, {})
    from_hub = resolve_facts("Qwen/Qwen3-0.6B", "main", cache_dir=tmp_path)
    assert (from_hub.source, from_hub.facts.layers) == ("hub", 3)
    from_catalog = resolve_facts("Qwen/Qwen3-4B", "main", cache_dir=tmp_path)
    assert (from_catalog.source, from_catalog.facts.layers) == ("catalog", 36)
    assert "HF_HUB_OFFLINE=1" in from_catalog.detail
    with pytest.raises(FactsUnavailable, match="not in the offline catalog"):
        resolve_facts("org/absent", "main", cache_dir=tmp_path)


def _error(kind: type[Exception]) -> Exception:
    error = kind.__new__(kind)
    Exception.__init__(error, "from the hub")
    return error


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (hub_errors.GatedRepoError, "is gated: accept its license"),
        (hub_errors.RepositoryNotFoundError, "was not found on the Hub"),
        (hub_errors.RevisionNotFoundError, "Revision 'v9' does not exist"),
        (ConnectionError, "Could not fetch config.json of org/model@v9"),
    ],
)
def test_hub_error_messages(kind: type[Exception], expected: str) -> None:
    assert expected in explain_hub_error(_error(kind), "org/model", "v9", None)


def test_a_failure_is_remembered_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    from slmfleet.planner import hub

    calls: list[str] = []

    def failing(repo: str, revision: str, token: str | None, cache_dir: str | None) -> None:
        calls.append(repo)
        raise hub.FactsUnavailable(repo, revision, "the Hub could not be reached")

    clock = [1000.0]
    hub.clear_facts_cache()
    monkeypatch.setattr(hub, "_load_cached", failing)
    monkeypatch.setattr(hub.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        with pytest.raises(hub.FactsUnavailable, match="could not be reached"):
            hub.load_facts("org/model", "v1")
    assert calls == ["org/model"]
    clock[0] += hub.FAILURE_TTL_SECONDS + 1
    with pytest.raises(hub.FactsUnavailable):
        hub.load_facts("org/model", "v1")
    assert calls == ["org/model", "org/model"]
    hub._failures.clear()


def test_a_token_quoted_in_the_hub_error_never_reaches_the_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """requests refuses a header value with a trailing newline and quotes it in the error."""
    from slmfleet.planner import hub

    token = "opaque-value-1234\n"

    def refuse(*_: Any, **__: Any) -> None:
        raise ValueError(f"Invalid header value b'Bearer {token!s}'".replace("\n", "\\n"))

    hub.clear_facts_cache()
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    with pytest.raises(FactsUnavailable) as caught:
        load_facts("org/gated", "main", token=token, cache_dir=tmp_path)
    assert "opaque-value-1234" not in caught.value.message
    assert "[REDACTED]" in caught.value.message
    hub._failures.clear()
