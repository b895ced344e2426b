"""The eval gate against a reference model, on simulators whose answers are known.

Every side runs the echo simulator, so a case passes when the model answers at all (its expected
answer is its prompt). The canary revision gets ``maxModelLen: 128``: it refuses the cases with
long prompts, which the reference (same simulator, default context) answers. The number of long
cases is therefore exactly the canary's gap below the reference, and the table checks the verdict
the paired comparison gives it: within 2 points promotes, 5 points worse rolls back, 20 cases
cannot tell a one-case difference.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rollout_support import describe, echo_model, wait_serving

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

SHORT_CONTEXT = 128


def jsonl(cases: int, long: int) -> str:
    """``cases`` echo cases; the first ``long`` have prompts too long for the short context."""
    lines = []
    for i in range(cases):
        prompt = ("long " * 200 if i < long else "") + f"case {i}"
        lines.append(json.dumps({"name": f"c{i}", "prompt": prompt, "expected": prompt,
                                 "checker": "exact", "maxTokens": 16}))  # fmt: skip
    return "\n".join(lines) + "\n"


def suite_and_reference(k8s: Kube, namespace: str, cases: int, long: int) -> None:
    k8s.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cases", "namespace": namespace},
            "data": {"cases.jsonl": jsonl(cases, long)},
        }
    )
    k8s.apply(
        {
            "apiVersion": "slmfleet.io/v1alpha1",
            "kind": "EvalSuite",
            "metadata": {"name": "vs-reference", "namespace": namespace},
            "spec": {
                "casesFrom": {"configMapKeyRef": {"name": "cases", "key": "cases.jsonl"}},
                "passThreshold": 0.5,
                "reference": {"smallModelRef": {"name": "reference"}, "maxGap": 0.02},
            },
        }
    )
    reference = echo_model(namespace, "reference", {"analysis": "none"}, replicas=1)
    reference["spec"]["servedModelName"] = "reference"
    k8s.apply(reference)
    wait_serving(k8s, "reference", namespace)


def candidate_rollout(k8s: Kube, namespace: str) -> str:
    """The candidate serving its stable revision, then changed to the short-context canary;
    returns the stable revision."""
    rollout = {
        "steps": [{"weight": 50}],
        "failureLimit": 0,
        "inconclusiveLimit": 1,
        "analysisIntervalSeconds": 5,
        "evalSuiteRef": "vs-reference",
    }
    body = echo_model(namespace, "candidate", rollout)
    body["spec"]["servedModelName"] = "candidate"
    k8s.apply(body)
    stable = str(wait_serving(k8s, "candidate", namespace)["status"]["templateHash"])
    short = copy.deepcopy(body)
    short["spec"]["maxModelLen"] = SHORT_CONTEXT
    k8s.apply(short)
    return stable


@pytest.mark.parametrize(
    ("cases", "long", "outcome", "verdict"),
    [
        (1000, 10, "Succeeded", "pass"),  # 1 point below the reference: promoted
        (1000, 50, "RolledBack", "fail"),  # 5 points below: rolled back
        (20, 1, "RolledBack", "inconclusive"),  # 20 cases cannot tell: never promoted
    ],
)
def test_eval_gate_against_a_reference(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    namespace: str,
    cases: int,
    long: int,
    outcome: str,
    verdict: str,
) -> None:
    suite_and_reference(k8s, namespace, cases, long)
    stable = candidate_rollout(k8s, namespace)
    evaluations: list[dict[str, Any]] = []

    def evaluated() -> dict[str, Any] | None:
        r = (k8s.get("SmallModel", "candidate", namespace) or {}).get("status", {}).get("rollout")
        last = (r or {}).get("lastEval")
        if last and (not evaluations or evaluations[-1] != last):
            evaluations.append(last)
        if not r or r.get("phase") != outcome:
            return None
        done = (
            r.get("stableRevision") != stable if outcome == "Succeeded" else r.get("failedRevision")
        )
        return r if done else None

    try:
        r = poll(f"candidate {outcome}", evaluated, 240, interval=0.5)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'candidate', namespace)}") from None
    last = r["lastEval"]
    assert last["verdict"] == verdict, last
    gap = last["reference"]
    assert gap["against"] == "reference" and gap["cases"] == cases and gap["score"] == 1.0
    assert gap["difference"] == pytest.approx(-long / cases)
    assert gap["lost"] == sorted(f"c{i}" for i in range(long))[:20] and not gap["gained"]
    assert last["score"] == pytest.approx(1 - long / cases)
    if outcome == "Succeeded":
        assert r["stableRevision"] != stable and not r.get("canaryRevision")
        assert gap["low"] >= -0.02
    else:
        assert r["stableRevision"] == stable and r["failedRevision"] != stable
    if verdict == "fail":
        assert gap["high"] < -0.02 and "points below reference" in r["message"]
    if verdict == "inconclusive":
        assert "20 paired cases cannot tell" in last["message"]
        assert all(e["verdict"] == "inconclusive" for e in evaluations)
        assert "no analysis data" in r["message"]
    print(f"\n{cases} cases, {long} lost: {json.dumps(gap)}")  # the numbers docs/migration.md cites
