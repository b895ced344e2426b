"""GPU memory planner: model facts, the offline catalog, and whether a model fits a GPU class.

Everything here is pure (facts and a request in, a plan out) except `hub`, which reads model
facts from the Hugging Face Hub or its local cache.
"""

from slmfleet.planner.catalog import catalog_facts, catalog_repos
from slmfleet.planner.facts import ModelFacts, facts_from_config
from slmfleet.planner.fit import plan_memory, smallest_fitting
from slmfleet.planner.hub import (
    FactsUnavailable,
    ResolvedFacts,
    clear_facts_cache,
    load_facts,
    resolve_facts,
)
from slmfleet.planner.plan import MemoryPlan
from slmfleet.planner.render import render_fit_matrix, render_plan_table
from slmfleet.planner.request import GPUSpec, ServingRequest

__all__ = [
    "FactsUnavailable",
    "GPUSpec",
    "MemoryPlan",
    "ModelFacts",
    "ResolvedFacts",
    "ServingRequest",
    "catalog_facts",
    "catalog_repos",
    "clear_facts_cache",
    "facts_from_config",
    "load_facts",
    "plan_memory",
    "render_fit_matrix",
    "render_plan_table",
    "resolve_facts",
    "smallest_fitting",
]
