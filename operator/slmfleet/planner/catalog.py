"""Offline catalog of the seed models' facts, shipped as package data (catalog_data/*.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from slmfleet.planner.facts import ModelFacts, facts_from_config

_DATA_PACKAGE = "slmfleet.planner"
_DATA_FILE = "catalog_data/seed_models.json"


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog model: its config subset, an exact parameter count if known, and notes."""

    repo: str
    config: dict[str, Any]
    param_count: int | None
    notes: str


@lru_cache(maxsize=1)
def catalog_entries() -> tuple[CatalogEntry, ...]:
    """Every catalog entry, in file order."""
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(
        CatalogEntry(
            repo=str(item["repo"]),
            config=dict(item["config"]),
            param_count=item.get("param_count"),
            notes=str(item.get("notes", "")),
        )
        for item in data["models"]
    )


def catalog_repos() -> tuple[str, ...]:
    """The repositories the catalog knows."""
    return tuple(entry.repo for entry in catalog_entries())


def catalog_facts(repo: str) -> ModelFacts | None:
    """Facts of a catalog model (repo compared case-insensitively), or None if it is not listed.

    The parameter count is the catalog's exact figure (source "catalog") when it has one, else it
    is computed from the stored config (source "config").
    """
    wanted = repo.lower()
    for entry in catalog_entries():
        if entry.repo.lower() == wanted:
            return facts_from_config(
                entry.repo, entry.config, entry.param_count, param_count_source="catalog"
            )
    return None
