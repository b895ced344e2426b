"""The ConfigMap-watching config source: first load, reload decisions, reference parsing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from slmfleet.router.config import Backend, Route, RouterConfig
from slmfleet.router.k8s_source import KubernetesConfigSource, config_from_data, split_ref

pytestmark = pytest.mark.unit


def config(*names: str) -> str:
    routes = tuple(Route(name=n, backends=(Backend(name="b", model=n),)) for n in names)
    return RouterConfig(routes=routes).to_json()


@dataclass
class Body:
    data: dict[str, str] | None


class FakeCore:
    """Answers reads with the given bodies in turn; an exception in the list is raised."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.reads = 0

    def read_namespaced_config_map(self, name: str, namespace: str) -> Body:
        self.reads += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, Body)
        return answer


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("ns/name", ("ns", "name")), ("a/b/c", None), ("/x", None), ("x/", None), ("x", None)],
)
def test_split_ref(ref: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="NAMESPACE/NAME"):
            split_ref(ref)
    else:
        assert split_ref(ref) == expected


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (None, "no key"),
        ({"other": "{}"}, "no key"),
        ({"config.json": "{"}, "Expecting"),
        ({"config.json": "[]"}, "RouterConfig"),
    ],
)
def test_config_from_data_refuses(data: dict[str, str] | None, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        config_from_data(data)


def test_first_load_waits_for_the_configmap_then_reloads_only_changes() -> None:
    missing = ApiException(status=404)
    core = FakeCore(missing, Body({"config.json": "not json"}), Body({"config.json": config("a")}))
    sleeps: list[float] = []
    outcomes: list[bool] = []
    source = KubernetesConfigSource("ns", "r", core=core, sleep=sleeps.append,
                                    on_reload=outcomes.append)  # fmt: skip
    assert (core.reads, len(sleeps)) == (3, 2)  # missing, invalid, then valid
    assert [r.name for r in source.current().routes] == ["a"]
    assert source.apply({"config.json": config("a")}) is None  # unchanged text: nothing to do
    assert source.apply({"config.json": '{"routes": 5}'}) is False
    assert [r.name for r in source.current().routes] == ["a"]  # the old snapshot stays
    assert source.apply({"config.json": config("a", "b")}) is True
    assert [r.name for r in source.current().routes] == ["a", "b"]
    assert outcomes == [False, True]


def test_first_load_gives_up_after_the_wait() -> None:
    core = FakeCore(*[ApiException(status=404)] * 3)
    with pytest.raises(ValueError, match="ConfigMap ns/r"):
        KubernetesConfigSource("ns", "r", core=core, initial_wait=0.0, sleep=lambda _: None)
    assert core.reads == 1
