"""The eval gate against a reference model, on simulators whose answers are known.

Every side runs the echo simulator, so a case passes when the model answers at all (its expected
answer is its prompt). The canary revision gets ``maxModelLen: 128``: it refuses the cases with
long prompts, which the reference (same simulator, default context) answers. The number of long
cases is therefore exactly the canary's gap below the reference, and the table checks the verdict
the paired comparison gives it: within 2 points promotes, 5 points worse rolls back, 20 cases
cannot tell a one-case difference. A shadow step mirrors live requests to the canary while only
stable answers.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

import pytest
from rollout_support import (
    ECHO,
    describe,
    echo_model,
    revision_replicas,
    rollout_of,
    wait_phase,
    wait_serving,
    with_args,
)

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.devcluster.volumes import claim_host_path
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
        # a 16 s deadline: 1,000 cases on two sides missed a 4 s one on a busy machine
        "analysisIntervalSeconds": 20,
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


SLOW_CASES = 24  # one at a time, each answered after 500 ms: an eval of 12 s or more


def test_a_long_eval_shows_its_progress_until_its_result(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    cases = [{"name": f"c{i}", "prompt": f"case {i}", "expected": f"case {i}", "maxTokens": 8}
             for i in range(SLOW_CASES)]  # fmt: skip
    k8s.apply(
        {
            "apiVersion": "slmfleet.io/v1alpha1",
            "kind": "EvalSuite",
            "metadata": {"name": "slow", "namespace": namespace},
            "spec": {"cases": cases, "passThreshold": 0.9, "concurrency": 1},
        }
    )
    # an analysis every 60 s: its deadline (48 s) leaves the eval time to finish
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "evalSuiteRef": "slow",
               "analysisIntervalSeconds": 60}  # fmt: skip
    body = echo_model(namespace, "slow", rollout)
    k8s.apply(body)
    stable = str(wait_serving(k8s, "slow", namespace)["status"]["templateHash"])
    k8s.apply(with_args(body, ECHO, "--time-to-first-token=500ms"))
    seen: list[dict[str, Any]] = []

    def promoted() -> dict[str, Any] | None:
        status = (k8s.get("SmallModel", "slow", namespace) or {}).get("status") or {}
        seen.append(status)
        r = status.get("rollout") or {}
        return status if r.get("phase") == "Succeeded" and r["stableRevision"] != stable else None

    try:
        done = poll("the slow canary promoted", promoted, 240, interval=0.5)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'slow', namespace)}") from None
    shown = [s["evalProgress"] for s in seen if s.get("evalProgress")]
    assert shown, "no progress was shown while the eval ran"
    sides = shown[0]["sides"]
    assert shown[0]["suite"] == "slow" and shown[0]["startedAt"]
    assert [(x["side"], x["total"]) for x in sides] == [("canary", SLOW_CASES)]
    assert 0 < sides[0]["done"] < SLOW_CASES, shown  # part of the cases, never per case
    # removed by the write that recorded the result: never beside a lastEval of this rollout
    assert not any(s.get("evalProgress") and (s.get("rollout") or {}).get("lastEval")
                   for s in seen)  # fmt: skip
    assert done["rollout"]["lastEval"]["score"] == 1.0 and "evalProgress" not in done
    writes = [x for i, x in enumerate(shown) if i == 0 or x != shown[i - 1]]
    print(f"\nprogress written: {json.dumps([x['sides'] for x in writes])}")


def padded_cases(cases: int, wrong: int) -> str:
    """``cases`` echo cases of about 1.4 KB each (2,000 are beyond a ConfigMap's 1 MiB); the
    first ``wrong`` expect another answer than the echo."""
    lines = []
    for i in range(cases):
        prompt = f"case {i}: " + "padding " * 80
        expected = "something else" if i < wrong else prompt
        lines.append(json.dumps({"name": f"p{i}", "prompt": prompt, "expected": expected,
                                 "maxTokens": 16}))  # fmt: skip
    return "\n".join(lines) + "\n"


def test_a_dataset_on_a_claim_beyond_a_configmap_is_evaluated(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    k8s.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "datasets", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    directory = poll("the claim bound", lambda: claim_host_path(k8s, namespace, "datasets"))
    text = padded_cases(2000, 20)
    assert len(text.encode()) > 2 * 1024 * 1024
    (directory / "triage").mkdir(parents=True, exist_ok=True)
    (directory / "triage" / "cases.jsonl").write_text(text)
    source = {"pvcFile": {"claimName": "datasets", "path": "triage/cases.jsonl"}}
    k8s.apply(
        {
            "apiVersion": "slmfleet.io/v1alpha1",
            "kind": "EvalSuite",
            "metadata": {"name": "triage", "namespace": namespace},
            "spec": {"casesFrom": source, "passThreshold": 0.95},
        }
    )
    # the first analysis starts the loader (inconclusive: loading); a later one reads the file
    rollout = {"steps": [{"weight": 50}], "failureLimit": 0, "evalSuiteRef": "triage",
               "inconclusiveLimit": 4, "analysisIntervalSeconds": 20}  # fmt: skip
    body = echo_model(namespace, "claimed", rollout)
    k8s.apply(body)
    stable = str(wait_serving(k8s, "claimed", namespace)["status"]["templateHash"])
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    messages: list[str] = []

    def promoted() -> dict[str, Any] | None:
        r = rollout_of(k8s, "claimed", namespace)
        message = (r.get("lastEval") or {}).get("message")
        if message and message not in messages:
            messages.append(message)
        return r if r.get("phase") == "Succeeded" and r["stableRevision"] != stable else None

    try:
        r = poll("the canary promoted on the claim's dataset", promoted, 300, interval=0.5)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'claimed', namespace)}") from None
    last = r["lastEval"]
    assert last["verdict"] == "pass" and last["cases"] == 2000, last
    assert last["score"] == pytest.approx(0.99)
    assert last["failedCases"] == sorted(f"p{i}" for i in range(20))
    assert messages and messages[0].startswith("loading the dataset triage/cases.jsonl"), messages
    jobs = k8s.list("Job", namespace, "slmfleet.io/evalsuite=triage")
    assert jobs and all(
        j["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"]
        for j in jobs
    )
    print(f"\nclaim dataset: {len(text.encode())} bytes; analyses said {json.dumps(messages)}")


def ask(urls: list[str], model: str, prompts: list[str]) -> list[tuple[int, str, str]]:
    """(status, revision header, answer) of each prompt, sent one by one through the routers."""
    out = []
    for i, prompt in enumerate(prompts):
        body = json.dumps({"model": model, "prompt": prompt, "max_tokens": 8}).encode()
        request = urllib.request.Request(
            f"{urls[i % len(urls)]}/v1/completions", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                text = json.loads(resp.read())["choices"][0]["text"]
                out.append((resp.status, resp.headers.get("x-slmfleet-revision", ""), text))
        except OSError:
            out.append((0, "", ""))
    return out


def test_shadow_step_mirrors_live_requests_and_serves_only_stable(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    shadow = {"percent": 50, "minRequests": 400, "minAgreement": 0.9}
    rollout = {
        "steps": [{"weight": 0, "shadow": shadow}, {"weight": 100}],
        "metrics": {"errorRate": 0.5},  # evidence for the weighted step
        "inconclusiveLimit": 2,
    }
    body = echo_model(namespace, "shadowed", rollout)
    body["spec"]["servedModelName"] = "shadowed"
    k8s.apply(body)
    stable = str(wait_serving(k8s, "shadowed", namespace)["status"]["templateHash"])
    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    r = wait_phase(k8s, "shadowed", namespace, ("Analyzing",))
    canary = r["canaryRevision"]
    assert r["weight"] == 0 and r["step"] == 0
    assert poll("one canary replica", lambda: revision_replicas(k8s, "shadowed", namespace)
                == {stable: 2, canary: 1})  # fmt: skip
    ips = poll(
        "2 ready router pods", lambda: len(found := router_ips(k8s, namespace)) == 2 and found
    )
    urls = [f"http://{ip}:8080" for ip in ips]

    # 300 requests, ~150 mirrored: fewer than minRequests, so the step waits (not "no data")
    prompts = [f"shadow {i}" for i in range(1000)]
    first = ask(urls, "shadowed", prompts[:300])
    assert first == [(200, stable, p) for p in prompts[:300]]  # stable served them, unchanged
    waiting = poll(
        "the step waiting for mirrors",
        lambda: (x := rollout_of(k8s, "shadowed", namespace))["message"].startswith("shadow: ")
        and float(x["message"].split()[1]) > 0 and x,
    )  # fmt: skip
    assert waiting["step"] == 0 and waiting["inconclusiveChecks"] == 0

    # 700 more: every one answered with its own text; the mirrors pass minRequests
    rest = ask(urls, "shadowed", prompts[300:])
    assert [(s, a) for s, _, a in rest] == [(200, p) for p in prompts[300:]]
    try:
        done = wait_phase(k8s, "shadowed", namespace, ("Succeeded", "RolledBack"), timeout=240)
    except TimeoutError as err:
        raise AssertionError(f"{err}; {describe(k8s, 'shadowed', namespace)}") from None
    assert done["phase"] == "Succeeded" and done["stableRevision"] == canary, done
    # what the analysis judged: the routers' counts of the canary's mirrors
    mirrored = mirror_counts(urls, canary)
    # every judged mirror agreed; on a busy machine a few may be dropped by the in-flight cap
    # (never the served request), which the analysis does not count as judged
    assert mirrored.get("agree", 0) >= 400 and set(mirrored) <= {"agree", "dropped"}, mirrored
    print(f"\nshadow step: {json.dumps(mirrored)}")


def mirror_counts(urls: list[str], revision: str) -> dict[str, float]:
    """Mirrors to ``revision`` by result, summed over the router pods."""
    counts: dict[str, float] = {}
    for url in urls:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        for line in text.splitlines():
            if line.startswith("slmfleet_router_shadow_requests_total{"):
                labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
                if labels.get("revision") == revision:
                    result = labels["result"]
                    counts[result] = counts.get(result, 0) + float(line.rsplit(" ", 1)[1])
    return counts
