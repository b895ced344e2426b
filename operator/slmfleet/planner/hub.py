"""Model facts from the Hugging Face Hub (or its local cache), with the offline catalog as fallback.

load_facts reads config.json through huggingface_hub (which honours HF_HUB_OFFLINE and the cache)
and counts parameters from safetensors metadata: online from the Hub, otherwise from the headers
of the shards present in the cached snapshot, otherwise from the config.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import huggingface_hub
from huggingface_hub import constants as hub_constants
from huggingface_hub import errors as hub_errors
from huggingface_hub.utils import SafetensorsRepoMetadata  # type: ignore[attr-defined]  # public, re-exported lazily

from slmfleet.planner.catalog import catalog_facts
from slmfleet.planner.facts import ModelFacts, facts_from_config
from slmfleet.planner.param_count import TensorHeader, count_tensor_params
from slmfleet.redact import redact

_UNAUTHORIZED = 401


class FactsUnavailable(Exception):  # noqa: N818 (the name the project uses)
    """The facts of a model revision cannot be had; the message says what to do about it."""

    def __init__(self, repo: str, revision: str, message: str) -> None:
        super().__init__(message)
        self.repo = repo
        self.revision = revision
        self.message = message


@dataclass(frozen=True)
class ResolvedFacts:
    """Facts plus where they came from: "hub" (config + safetensors) or "catalog"."""

    facts: ModelFacts
    source: Literal["hub", "catalog"]
    detail: str


def hub_offline() -> bool:
    """Whether huggingface_hub is in offline mode (HF_HUB_OFFLINE=1)."""
    return bool(getattr(hub_constants, "HF_HUB_OFFLINE", False))


PROBE_TIMEOUT_SECONDS = 2.0
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def hub_reachable(timeout: float = PROBE_TIMEOUT_SECONDS, endpoint: str | None = None) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within `timeout` (assumed yes behind
    a proxy, which a direct connection cannot judge)."""
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return True
    url = urlparse(endpoint or hub_constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def offline_unless_reachable(
    timeout: float = PROBE_TIMEOUT_SECONDS, endpoint: str | None = None
) -> str | None:
    """For a command-line run: one short attempt to reach the Hub; when it fails, switch this
    process to the local cache and the offline catalog (no retries) and say so in one line."""
    if hub_offline():
        return None
    if hub_reachable(timeout, endpoint):
        return None
    hub_constants.HF_HUB_OFFLINE = True
    where = endpoint or hub_constants.ENDPOINT
    return (
        f"Hugging Face Hub unreachable ({where} did not answer within {timeout:g} s): "
        "using the local Hugging Face cache and the offline catalog."
    )


def explain_hub_error(error: Exception, repo: str, revision: str, cache_dir: str | None) -> str:
    """A sentence a user can act on, for an exception raised while fetching config.json."""
    where = cache_dir or getattr(hub_constants, "HF_HUB_CACHE", "the Hugging Face cache")
    remote_missing = getattr(hub_errors, "RemoteEntryNotFoundError", ())
    if isinstance(error, hub_errors.GatedRepoError):
        return (
            f"{repo} is gated: accept its license on the Hub with the account whose token the "
            "operator uses, and provide that token (HF_TOKEN secret)."
        )
    if isinstance(error, hub_errors.RepositoryNotFoundError):
        return (
            f"{repo} was not found on the Hub, or it is private: check the repository name, or "
            "provide a token that can read it."
        )
    if isinstance(error, hub_errors.RevisionNotFoundError):
        return f"Revision {revision!r} does not exist in {repo}: use a branch, tag or commit of it."
    if remote_missing and isinstance(error, remote_missing):
        return f"{repo}@{revision} has no config.json, so it is not a model vLLM can serve."
    if isinstance(error, (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled)):
        if hub_offline():
            return (
                f"Hub access is off (HF_HUB_OFFLINE=1) and config.json of {repo}@{revision} is "
                f"not in the cache at {where}: download the model into that cache first, or "
                "allow Hub access."
            )
        return (
            f"The Hub could not be reached for {repo}@{revision} and config.json is not in the "
            f"cache at {where}: check network access to the Hub or pre-populate the cache."
        )
    response = getattr(error, "response", None)
    if (
        isinstance(error, hub_errors.HfHubHTTPError)
        and response is not None
        and (response.status_code == _UNAUTHORIZED)
    ):
        return f"The Hub rejected the token for {repo} (401): provide a valid token."
    return redact(f"Could not fetch config.json of {repo}@{revision}: {error}")


def _read_config(repo: str, revision: str, token: str | None, cache_dir: str | None) -> Path:
    try:
        path = huggingface_hub.hf_hub_download(
            repo, "config.json", revision=revision, token=token, cache_dir=cache_dir
        )
    except Exception as error:
        # The error text may quote the token (an invalid header value): never pass it on.
        message = redact(explain_hub_error(error, repo, revision, cache_dir), [token or ""])
        raise FactsUnavailable(repo, revision, message) from error
    return Path(path)


def _headers(metadata: SafetensorsRepoMetadata) -> list[TensorHeader]:
    return [
        TensorHeader(name=name, dtype=str(info.dtype), shape=tuple(info.shape))
        for file_metadata in metadata.files_metadata.values()
        for name, info in file_metadata.tensors.items()
    ]


def _online_tensors(repo: str, revision: str, token: str | None) -> list[TensorHeader] | None:
    try:
        metadata = huggingface_hub.get_safetensors_metadata(repo, revision=revision, token=token)
    except Exception:  # not a safetensors repo, network trouble: fall back to the cache
        return None
    return _headers(metadata)


def _snapshot_tensors(snapshot: Path) -> list[TensorHeader] | None:
    """Tensors of the checkpoint in a snapshot folder (headers only), or None unless it has
    ``model.safetensors`` or every shard its index names."""
    try:
        return _headers(huggingface_hub.get_local_safetensors_metadata(snapshot))
    except (OSError, hub_errors.NotASafetensorsRepoError, hub_errors.SafetensorsParsingError):
        return None


def _tensors(
    repo: str, revision: str, token: str | None, snapshot: Path
) -> list[TensorHeader] | None:
    if not hub_offline():
        tensors = _online_tensors(repo, revision, token)
        if tensors:
            return tensors
    return _snapshot_tensors(snapshot)


@lru_cache(maxsize=256)
def _load_cached(repo: str, revision: str, token: str | None, cache_dir: str | None) -> ModelFacts:
    path = _read_config(repo, revision, token, cache_dir)
    try:
        config: Any = json.loads(path.read_text(encoding="utf-8"))
        facts = facts_from_config(repo, config, None)
    except (ValueError, TypeError, AttributeError) as error:
        raise FactsUnavailable(
            repo, revision, f"config.json of {repo}@{revision} cannot be sized: {error}"
        ) from error
    tensors = _tensors(repo, revision, token, path.parent)
    if not tensors:
        return facts
    count = count_tensor_params(
        tensors, quant_bits=facts.quant_bits, tie_word_embeddings=facts.tie_word_embeddings
    )
    return dataclasses.replace(facts, param_count=count, param_count_source="safetensors")


FAILURE_TTL_SECONDS = 60.0
_failures: dict[tuple[str, str, str | None, str | None], tuple[float, FactsUnavailable]] = {}


def load_facts(
    repo: str, revision: str, token: str | None = None, cache_dir: str | Path | None = None
) -> ModelFacts:
    """Facts of `repo` at `revision` from the Hub or its cache; cached per process.

    Raises FactsUnavailable (repo or revision not found, gated without token, offline and not
    cached) with a message a user can act on. A failure is remembered for FAILURE_TTL_SECONDS,
    so an unreachable Hub costs one round of retries a minute, not one per reconcile.
    """
    key = (repo, revision, token, str(cache_dir) if cache_dir is not None else None)
    failed = _failures.get(key)
    if failed is not None and time.monotonic() - failed[0] < FAILURE_TTL_SECONDS:
        raise failed[1]
    try:
        return _load_cached(*key)
    except FactsUnavailable as error:
        _failures[key] = (time.monotonic(), error)
        raise


def clear_facts_cache() -> None:
    """Forget facts loaded so far, and failures (after a cache was filled, or in tests)."""
    _load_cached.cache_clear()
    _failures.clear()


def resolve_facts(
    repo: str, revision: str, token: str | None = None, cache_dir: str | Path | None = None
) -> ResolvedFacts:
    """Facts from the Hub, or else from the offline catalog; says which one it used and why."""
    try:
        facts = load_facts(repo, revision, token=token, cache_dir=cache_dir)
    except FactsUnavailable as error:
        fallback = catalog_facts(repo)
        if fallback is None:
            raise FactsUnavailable(
                repo, revision, f"{error.message} {repo} is not in the offline catalog either."
            ) from error
        return ResolvedFacts(
            facts=fallback,
            source="catalog",
            detail=f"Used the offline catalog facts of {repo} (they ignore the revision): "
            f"{error.message}",
        )
    return ResolvedFacts(
        facts=facts,
        source="hub",
        detail=f"Read config.json of {repo}@{revision}; parameter count from "
        f"{facts.param_count_source}.",
    )
