"""What vLLM 0.33.0 accepts, each rule with the vLLM source file (in the PyPI wheel) that states it.

A rule is a check on what the operator emits or decides for one SmallModel: the `vllm serve`
arguments, the Stalled verdict, the extraArgs guard, or the router's reading of logprobs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from planner_gpus import EXAMPLES, example_gpuclasses

from slmfleet.api.engine import owned_flag
from slmfleet.api.parse import parse_smallmodel
from slmfleet.planner import catalog_facts
from slmfleet.reconcile.smallmodel import Decision, Observed, decide, gpu_spec
from slmfleet.router.escalation import mean_logprob

pytestmark = pytest.mark.unit

IMAGE = "vllm/vllm-openai:v0.33.0"


def decision(gpu: str = "l4", **spec: Any) -> Decision:
    """decide() for the Qwen2.5-3B example (without its extraArgs) on `gpu`, `spec` overriding."""
    body = yaml.safe_load((EXAMPLES / "smallmodel-qwen2.5-3b-l4.yaml").read_text())
    body["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    body["spec"].update({"gpuClassName": gpu, "engine": {}, **spec})
    classes = example_gpuclasses()
    observed = Observed(
        gpuclass=classes[gpu],
        facts=catalog_facts("Qwen/Qwen2.5-3B-Instruct"),
        other_gpuclasses=tuple(gpu_spec(n, s) for n, s in classes.items()),
    )
    return decide(parse_smallmodel(body), observed, IMAGE)


def args(gpu: str = "l4", **spec: Any) -> list[str]:
    d = decision(gpu, **spec)
    assert d.children, d.verdict.message
    deployment = next(c for c in d.children if c["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return list(container["args"])


def flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def stalled_with(d: Decision, reason: str, words: str) -> bool:
    return d.verdict.stalled and d.verdict.reason == reason and words in d.verdict.message


@dataclass(frozen=True)
class Rule:
    fact: str
    source: str
    holds: Callable[[], bool]


def _chat(*logprobs: float) -> dict[str, Any]:
    return {"logprobs": {"content": [{"token": "x", "logprob": v} for v in logprobs]}}


RULES = [
    Rule(
        "--kv-cache-dtype has no float32 choice: a float32 model runs with the flag left out",
        "vllm/config/cache.py (CacheDType)",
        lambda: (
            flag(args(dtype="float32", maxModelLen=2048), "--kv-cache-dtype") is None
            and flag(args(dtype="float32", maxModelLen=2048), "--dtype") == "float32"
        ),
    ),
    Rule(
        "a KV dtype equal to the model dtype is what auto picks: the flag is left out",
        "vllm/config/cache.py (cache_dtype auto)",
        lambda: "--kv-cache-dtype" not in args(dtype="bfloat16", kvCacheDtype="bfloat16"),
    ),
    Rule(
        "fp8 KV cache is passed as is",
        "vllm/config/cache.py (CacheDType)",
        lambda: flag(args(kvCacheDtype="fp8"), "--kv-cache-dtype") == "fp8",
    ),
    Rule(
        "an explicit float16 KV cache on a bfloat16 model is refused",
        "vllm/config/vllm.py (_reject_mismatched_float_kv_cache)",
        lambda: stalled_with(
            decision(dtype="bfloat16", kvCacheDtype="float16"), "DoesNotFit", "kv_cache_dtype"
        ),
    ),
    Rule(
        "an explicit bfloat16 KV cache on a float16 model is refused",
        "vllm/config/vllm.py (_reject_mismatched_float_kv_cache)",
        lambda: stalled_with(
            decision("t4", kvCacheDtype="bfloat16"), "DoesNotFit", "model dtype float16"
        ),
    ),
    Rule(
        "max_num_seqs above the default max_num_batched_tokens (2048 on A100s) is raised",
        "vllm/engine/arg_utils.py (get_batch_defaults), vllm/config/scheduler.py",
        lambda: (
            flag(args("a100-80gb", maxNumSeqs=4096, maxModelLen=128), "--max-num-batched-tokens")
            == "4096"
        ),
    ),
    Rule(
        "within the default no --max-num-batched-tokens is passed",
        "vllm/engine/arg_utils.py (get_batch_defaults)",
        lambda: "--max-num-batched-tokens" not in args(maxNumSeqs=2048, maxModelLen=128),
    ),
    Rule(
        "on an H100 (>= 70 GiB, not A100) the default is 8192",
        "vllm/engine/arg_utils.py (get_batch_defaults)",
        lambda: (
            "--max-num-batched-tokens" not in args("h100-80gb", maxNumSeqs=4096, maxModelLen=128)
            and decision("h100-80gb", maxNumSeqs=4096).status["plan"]["maxNumBatchedTokens"] == 8192
        ),
    ),
    Rule(
        "--max-num-batched-tokens in extraArgs below maxNumSeqs is refused",
        "vllm/config/scheduler.py (max_num_batched_tokens >= max_num_seqs)",
        lambda: stalled_with(
            decision(
                maxNumSeqs=512,
                maxModelLen=1024,
                engine={"extraArgs": ["--max-num-batched-tokens=256"]},
            ),
            "DoesNotFit",
            "below maxNumSeqs 512",
        ),
    ),
    Rule(
        "bitsandbytes is not a registered quantization method without its plugin",
        "vllm/model_executor/layers/quantization/__init__.py (QuantizationMethods)",
        lambda: (
            stalled_with(
                decision(quantization="bitsandbytes"), "QuantizationPluginMissing", "plugin"
            )
            and stalled_with(
                decision(quantization="gguf", engine={"quantizationPlugins": ["gguf"]}),
                "QuantizationPluginMissing",
                "spec.engine.image",
            )
        ),
    ),
    Rule(
        "an image that declares the plugin serves bitsandbytes",
        "vllm/model_executor/layers/quantization/__init__.py (register_quantization_config)",
        lambda: (
            flag(
                args(
                    quantization="bitsandbytes",
                    engine={
                        "image": "example/vllm-bnb:0.33",
                        "quantizationPlugins": ["bitsandbytes"],
                    },
                ),
                "--quantization",
            )
            == "bitsandbytes"
        ),
    ),
    Rule(
        "--device-memory-utilization is an alias of --gpu-memory-utilization",
        "vllm/engine/arg_utils.py (cache_group --gpu-memory-utilization)",
        lambda: owned_flag("--device-memory-utilization=0.99") is not None,
    ),
    Rule(
        "argparse prefix abbreviations reach the engine (allow_abbrev is left on)",
        "vllm/utils/argparse_utils.py (FlexibleArgumentParser)",
        lambda: (
            owned_flag("--gpu-memory-util=0.99") == "--gpu-memory-utilization"
            and owned_flag("--max_model=4096") == "--max-model-len"
        ),
    ),
    Rule(
        "--enable-lora also reads as --no-enable-lora and --disable-lora; --max-loras is owned",
        "vllm/utils/argparse_utils.py (EnableDisableAction), vllm/engine/arg_utils.py",
        lambda: (
            all(owned_flag(a) for a in ("--enable-lora", "--no-enable-lora", "--disable-lora"))
            and owned_flag("--max-loras=8") == "--max-loras"
        ),
    ),
    Rule(
        "vLLM clamps -inf logprobs to -9999.0: the cascade's mean leaves them out",
        "vllm/entrypoints/openai/chat_completion/serving.py, .../completion/serving.py",
        lambda: (
            mean_logprob(_chat(-0.5, -9999.0, -1.5)) == -1.0
            and mean_logprob(_chat(-9999.0)) is None
        ),
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.fact[:60])
def test_vllm_rule(rule: Rule) -> None:
    assert rule.source.startswith("vllm/")
    assert rule.holds(), f"{rule.fact} ({rule.source})"
