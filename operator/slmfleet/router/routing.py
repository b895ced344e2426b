"""Pure routing decisions: which route, which backend, which endpoint, in which order to try."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from slmfleet.router.config import Backend, EndpointPolicy, Route, RouterConfig


class NoBackendError(ValueError):
    """A route has no backend that can take traffic (all weights are zero)."""


def select_route(config: RouterConfig, model: str, headers: Mapping[str, str]) -> Route | None:
    """The route for an OpenAI `model` name and request headers, or None.

    A route matches when `model` is its name or its alias and every header in its match is
    present with exactly that value (header names compare case-insensitively). Among matches the
    route that demands the most headers wins; ties go to the route listed first.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    best: Route | None = None
    best_score = -1
    for route in config.routes:
        if model not in route.model_names:
            continue
        if any(lowered.get(name) != wanted for name, wanted in route.match.headers.items()):
            continue
        score = len(route.match.headers)
        if score > best_score:
            best, best_score = route, score
    return best


def pick_backend(route: Route, rand: float) -> Backend:
    """The backend for a uniform random number `rand` in [0, 1), in proportion to weights."""
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), got {rand}")
    total = sum(backend.weight for backend in route.backends)
    if total <= 0:
        raise NoBackendError(f"route {route.name!r}: backend weights sum to 0")
    target = rand * total
    cumulative = 0
    for backend in route.backends:
        cumulative += backend.weight
        if target < cumulative:
            return backend
    # Floating point can land exactly on the total; give it to the last weighted backend.
    return [backend for backend in route.backends if backend.weight > 0][-1]


def revision_endpoints(
    backend: Backend, rand: float, exclude: Collection[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """The revision a request goes to (weighted by ``rand`` in [0, 1)) and its endpoints.

    Without a split this is the backend's revision and all its endpoints. A revision with weight
    0, no endpoints, or only endpoints in ``exclude`` is skipped; when every one is, the request
    goes wherever an endpoint is left, so a split never fails a request that could be served.
    """
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), got {rand}")
    live = [
        split
        for split in backend.revisions
        if split.weight > 0 and any(e not in exclude for e in split.endpoints)
    ]
    if not live:
        return backend.revision, backend.endpoints
    target = rand * sum(split.weight for split in live)
    cumulative = 0
    for split in live:
        cumulative += split.weight
        if target < cumulative:
            return split.revision, split.endpoints
    return live[-1].revision, live[-1].endpoints


def retry_endpoints(
    backend: Backend, revision: str, exclude: Collection[str]
) -> tuple[str, tuple[str, ...]] | None:
    """Where a request goes after an endpoint of ``revision`` failed in a way safe to retry.

    First the revision's own endpoints not in ``exclude``, then those of the split's other
    revisions that take traffic (in the split's order), then any endpoint of the backend left;
    None when every endpoint has been tried.
    """
    order = [s for s in backend.revisions if s.revision == revision]
    order += [s for s in backend.revisions if s.revision != revision and s.weight > 0]
    groups = [(s.revision, s.endpoints) for s in order] or [(revision, backend.endpoints)]
    for name, endpoints in groups:
        left = tuple(e for e in endpoints if e not in exclude)
        if left:
            return name, left
    for endpoint in backend.endpoints:
        if endpoint not in exclude:
            owner = (s.revision for s in backend.revisions if endpoint in s.endpoints)
            return next(owner, backend.revision), (endpoint,)
    return None


def pick_endpoint(
    endpoints: Sequence[str],
    in_flight: Mapping[str, int],
    policy: EndpointPolicy,
    counter: int,
    exclude: Collection[str] = (),
) -> str | None:
    """One endpoint of a backend, or None when it has none.

    Endpoints in `exclude` (those that already failed this request) are skipped unless every
    endpoint is excluded. Round robin takes `counter` modulo the candidates; least-in-flight
    takes the candidates with the fewest requests in flight and breaks ties with `counter`.
    """
    candidates = [endpoint for endpoint in endpoints if endpoint not in exclude]
    if not candidates:
        candidates = list(endpoints)
    if not candidates:
        return None
    if policy is EndpointPolicy.ROUND_ROBIN:
        return candidates[counter % len(candidates)]
    fewest = min(in_flight.get(endpoint, 0) for endpoint in candidates)
    tied = [endpoint for endpoint in candidates if in_flight.get(endpoint, 0) == fewest]
    return tied[counter % len(tied)]


def plan_attempts(route: Route, primary: str) -> tuple[str, ...]:
    """Backend names in the order to try them: the primary, then the fallback chain.

    Each backend appears `1 + route.retries` times in a row; a fallback equal to the primary (or
    repeated) is tried only once in the chain.
    """
    chain: list[str] = []
    for name in (primary, *route.fallback):
        if name not in chain:
            chain.append(name)
    return tuple(name for name in chain for _ in range(1 + route.retries))


def cascade_attempts(route: Route, tier: str) -> tuple[str, ...]:
    """Backend names for one cascade tier: the tier's backend, `1 + retries` times."""
    return (tier,) * (1 + route.retries)


def find_backend(config: RouterConfig, route_name: str, backend_name: str) -> Backend | None:
    """A backend looked up by route and backend name in a (possibly newer) config."""
    route = config.route(route_name)
    return route.backend(backend_name) if route is not None else None


def served_model_names(config: RouterConfig) -> tuple[str, ...]:
    """Every model name the router answers to (route names and aliases), first seen first."""
    names: list[str] = []
    for route in config.routes:
        names.extend(name for name in route.model_names if name not in names)
    return tuple(names)
