"""JSON Schema validators for the router's cascade check: jsonschema against fastjsonschema.

    python bench/jsonschema_validators.py [--number 20000] [--out bench/results/jsonschema.md]

The router checks every answer of a cascade tier against the route's ``jsonSchema`` (a compiled
validator, cached per schema), so what counts is the time of one check of an already compiled
validator, next to the router's own CPU per request (about 1.1 ms, bench/results/router.md).
Measured per library: compiling a schema once (for jsonschema with the meta-validation the
operator does at parse time), then checking a valid and an invalid answer, for a small schema
(the "label with a confidence" answer of docs/router.md) and a larger one using pattern, oneOf,
$ref and format. Correctness is counted on the official JSON Schema test suite cases copied in
tests/data/json-schema-test-suite/ (draft 2020-12): each library gets every case whose schema it
compiles, and a case it cannot compile counts as wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import timeit
from collections import Counter
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

SUITE = Path(__file__).resolve().parent.parent / "tests" / "data" / "json-schema-test-suite"

SMALL: dict[str, Any] = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": {"enum": ["billing", "outage", "other"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "additionalProperties": False,
}
LARGE: dict[str, Any] = {
    "$defs": {"id": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}},
    "type": "object",
    "required": ["ticket", "action", "items"],
    "properties": {
        "ticket": {"$ref": "#/$defs/id"},
        "action": {
            "oneOf": [
                {"const": "close"},
                {"type": "object", "required": ["escalate"], "properties": {"escalate": {}}},
            ]
        },
        "due": {"type": "string", "format": "date"},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 8,
            "items": {
                "type": "object",
                "required": ["sku"],
                "properties": {"sku": {"$ref": "#/$defs/id"}},
            },
        },
    },
}
CASES: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "small": (SMALL, {"label": "billing", "confidence": 0.9}, {"label": "refund"}),
    "large": (
        LARGE,
        {
            "ticket": "ABC-1234",
            "action": "close",
            "due": "2026-03-01",
            "items": [{"sku": "XYZ-0001"}],
        },
        {"ticket": "ABC-1234", "action": "close", "items": [{"sku": "bad"}]},
    ),
}

Check = Callable[[Any], bool]


def jsonschema_compile(schema: dict[str, Any]) -> Check:
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid


def fastjsonschema_compile(schema: dict[str, Any]) -> Check:
    validate = fastjsonschema.compile(schema)

    def check(value: Any) -> bool:
        try:
            validate(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


LIBRARIES: dict[str, Callable[[dict[str, Any]], Check]] = {
    f"jsonschema {version('jsonschema')}": jsonschema_compile,
    f"fastjsonschema {version('fastjsonschema')}": fastjsonschema_compile,
}


def microseconds(call: Callable[[], object], number: int) -> float:
    """Best of five runs of ``number`` calls, per call."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def conformance(compile_schema: Callable[[dict[str, Any]], Check]) -> tuple[int, Counter[str]]:
    """Cases over the suite copy, and the wrong ones per file (a schema that does not compile
    gets its cases wrong)."""
    total, wrong = 0, Counter[str]()
    for path in sorted((SUITE / "draft2020-12").rglob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            try:
                check: Check | None = compile_schema(group["schema"])
            except Exception:
                check = None
            for case in group["tests"]:
                total += 1
                try:
                    ok = check is not None and check(case["data"]) == case["valid"]
                except Exception:
                    ok = False
                wrong[path.stem] += not ok
    return total, +wrong


def measure(number: int) -> tuple[list[list[str]], dict[str, Counter[str]]]:
    rows, misses = [], {}
    for library, compile_schema in LIBRARIES.items():
        row = [library]
        for schema, valid, invalid in CASES.values():
            check = compile_schema(schema)
            assert check(valid) and not check(invalid), library
            compile_number = max(number // 100, 10)
            row.append(
                f"{microseconds(lambda s=schema, f=compile_schema: f(s), compile_number):.0f}"
            )
            row.append(f"{microseconds(lambda c=check, v=valid: c(v), number):.1f}")
            row.append(f"{microseconds(lambda c=check, v=invalid: c(v), number):.1f}")
        total, wrong = conformance(compile_schema)
        row.append(f"{total - wrong.total()}/{total}")
        rows.append(row)
        misses[library] = wrong
    return rows, misses


def report(rows: list[list[str]], misses: dict[str, Counter[str]], number: int) -> str:
    head = ["Library"]
    for name in CASES:
        head += [f"{name}: compile µs", f"{name}: valid µs", f"{name}: invalid µs"]
    head.append("suite cases right")
    lines = [
        "# JSON Schema validators",
        "",
        f"Generated by `python bench/jsonschema_validators.py --number {number}` on "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        "Times are the best of five runs, per call; compile includes jsonschema's meta-validation.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        "Suite cases wrong, by file:",
        "",
        *(
            f"- {library}: " + ", ".join(f"{name} {n}" for name, n in sorted(wrong.items()))
            for library, wrong in misses.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="checks per timing run")
    parser.add_argument("--out", type=Path, help="write the table here, keeping notes below it")
    args = parser.parse_args()
    text = report(*measure(args.number), args.number)
    print(text)
    if args.out is not None:
        marker = "<!-- notes: kept across runs -->"
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        notes = old[old.index(marker) :] if marker in old else marker + "\n"
        args.out.write_text(text + "\n" + notes, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
