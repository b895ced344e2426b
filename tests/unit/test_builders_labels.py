"""Label selectors: the one place that writes ``key=value,...`` for list calls and status."""

from __future__ import annotations

import pytest

from slmfleet.builders.labels import label_selector, selector_labels

pytestmark = pytest.mark.unit


def test_label_selector_joins_every_label_in_order() -> None:
    assert label_selector(selector_labels("qwen")) == (
        "app.kubernetes.io/name=vllm,app.kubernetes.io/instance=qwen,slmfleet.io/model=qwen"
    )


def test_label_selector_of_nothing_selects_everything() -> None:
    assert label_selector({}) == ""
