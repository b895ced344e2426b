"""What README.md and docs/ name exists, and what users can set is documented.

Checked: SLMFLEET_* environment variables, Makefile targets, command-line flags of `slmfleet` and
`kubectl slm`, chart values, and the generated API field reference.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmfleet.api.crdgen import KINDS, object_schema
from slmfleet.api.crdschema import walk
from slmfleet.api.docgen import main as docgen_main
from slmfleet.api.docgen import render
from slmfleet.cli.kubectl_slm import build_parser as kubectl_parser
from slmfleet.cli.main import build_parser as slmfleet_parser

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TEXT = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
ENV_RE = re.compile(r"SLMFLEET_[A-Z0-9_]*[A-Z0-9]")
INTERNAL_ENV = {
    "SLMFLEET_LISTEN_PORT": "set by the local cluster's pod backer for the processes it starts",
    "SLMFLEET_WEIGHTS_REPO": "set by the operator on the weight cache's download Job",
    "SLMFLEET_WEIGHTS_REVISION": "set by the operator on the weight cache's download Job",
    "SLMFLEET_WEIGHTS_PATTERNS": "set by the operator on the weight cache's download Job",
    "SLMFLEET_WEIGHTS_DIR": "set by the operator on the weight cache's download Job",
    "SLMFLEET_DATASET_FILE": "set by the operator on an EvalSuite's dataset loader Job",
}


def _code_files() -> Iterator[Path]:
    yield REPO / "Makefile"
    for folder in ("operator", "charts", "hack", "tests", "bench"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".sh", ".tpl", ".json"}:
                yield path


def _read_env() -> set[str]:
    """SLMFLEET_* variables the package reads from its environment."""
    read = re.compile(r"environ(?:\.get\(|\[)\s*\"(SLMFLEET_[A-Z0-9_]+)\"")
    return {
        m.group(1)
        for path in (REPO / "operator").rglob("*.py")
        for m in read.finditer(path.read_text(encoding="utf-8"))
    }


def test_every_env_var_the_docs_name_exists() -> None:
    named = set(ENV_RE.findall(TEXT))
    code = set()
    for path in _code_files():
        if "tests/unit/test_docs_claims.py" not in str(path):
            code |= set(ENV_RE.findall(path.read_text(encoding="utf-8", errors="replace")))
    assert named - code == set()


def test_every_env_var_users_can_set_is_documented() -> None:
    named = set(ENV_RE.findall(TEXT))
    assert _read_env() - named - INTERNAL_ENV.keys() == set()


def _makefile() -> tuple[set[str], set[str], set[str]]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE))
    helped = set(re.findall(r"^([a-z][a-z-]*):.*## ", text, re.MULTILINE))
    phony = set(re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE).group(1).split())  # type: ignore[union-attr]
    return targets, helped, phony


def test_make_targets_the_docs_name_exist_and_phony_ones_too() -> None:
    targets, _, phony = _makefile()
    named = set(re.findall(r"`make ([a-z][a-z-]*)", TEXT)) | set(
        re.findall(r"^make ([a-z][a-z-]*)", TEXT, re.MULTILINE)
    )
    assert named - targets == set()
    assert phony - targets == set()


def test_every_make_target_with_help_is_documented() -> None:
    _, helped, _ = _makefile()
    missing = {t for t in helped if f"make {t}" not in TEXT and f"`{t}`" not in TEXT}
    assert missing == set()


def _actions(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(subcommand path, option strings of one flag) for every flag, recursively."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}".strip())
        elif action.option_strings and "-h" not in action.option_strings:
            yield path, tuple(action.option_strings)
        else:
            yield path, ()


def _options(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Option strings by subcommand path ("" = top level)."""
    found: dict[str, set[str]] = {}
    for path, strings in _actions(parser):
        found.setdefault(path, set()).update(strings)
    return found


PARSERS = {"slmfleet": slmfleet_parser(), "kubectl slm": kubectl_parser()}
PROGRAMS = {program: _options(parser) for program, parser in PARSERS.items()}


def _commands() -> Iterator[tuple[str, list[str]]]:
    """Commands written in the docs: inline code and lines of code blocks."""
    spans = re.findall(r"`([^`\n]+)`", TEXT) + TEXT.splitlines()
    for span in spans:
        for program in PROGRAMS:
            m = re.match(rf"\s*(?:\$ )?{program} ([^#|;`]*)", span)
            if m:
                yield program, m.group(1).split()


def test_every_flag_the_docs_name_exists() -> None:
    unknown = []
    for program, words in _commands():
        options = PROGRAMS[program]
        path = ""
        allowed = set(options[""])
        for word in words:
            candidate = f"{path} {word}".strip()
            if candidate in options:
                path = candidate
                allowed |= options[path]
            elif word.startswith("-") and word.split("=", 1)[0] not in allowed:
                unknown.append(f"{program} {' '.join(words)}: {word}")
    assert unknown == []


def _documented(option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", TEXT) is not None


def test_every_flag_is_documented() -> None:
    missing = {
        f"{program} {path}: {'/'.join(strings)}"
        for program, parser in PARSERS.items()
        for path, strings in _actions(parser)
        if strings and not any(_documented(s) for s in strings)
    }
    assert missing == set()


def _values_table() -> list[str]:
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    section = text.split("| Value | Default | Meaning |", 1)[1].split("\n\n", 1)[0]
    names = []
    for row in section.splitlines()[2:]:
        names += re.findall(r"`([A-Za-z.]+)`", row.split("|")[1])
    return names


def _lookup(values: dict[str, Any], dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_chart_values_in_the_docs_exist_and_every_value_is_documented() -> None:
    values = yaml.safe_load((REPO / "charts" / "slmfleet" / "values.yaml").read_text())
    documented = _values_table()
    assert [name for name in documented if not _lookup(values, name)] == []
    tops = {name.split(".")[0] for name in documented}
    assert set(values) - tops == set()


def test_the_api_reference_is_generated_from_the_models() -> None:
    assert docgen_main(["--out", str(REPO / "docs" / "api-reference.md"), "--check"]) == 0


def test_the_api_reference_check_catches_drift(tmp_path: Path) -> None:
    out = tmp_path / "api-reference.md"
    assert docgen_main(["--out", str(out), "--check"]) == 1
    assert docgen_main(["--out", str(out)]) == 0
    assert docgen_main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text().replace("maxNumSeqs", "maxSeqs"))
    assert docgen_main(["--out", str(out), "--check"]) == 1


def test_the_api_reference_lists_every_spec_field_of_every_kind() -> None:
    reference = render()
    for info in KINDS:
        spec = object_schema(info)["properties"]["spec"]
        for path, _ in walk(spec):
            field = path.lstrip(".")
            if field and "|" not in field and not field.endswith((".*", "[*]")):
                assert f"| `{field}` |" in reference, (info.kind, field)


def test_spec_fields_the_docs_point_to_exist() -> None:
    fields = {
        path.lstrip(".").replace("[*]", "")
        for info in KINDS
        for path, _ in walk(object_schema(info)["properties"]["spec"])
    }
    named = set(re.findall(r"`spec\.([A-Za-z.]+)`", TEXT))
    assert {n for n in named if n not in fields} == set()


@pytest.mark.parametrize("doc", ["install.md", "api.md"])
def test_the_docs_name_every_kind(doc: str) -> None:
    intro = (REPO / "docs" / doc).read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert [k.kind for k in KINDS if f"`{k.kind}`" not in intro] == []
    assert not re.search(r"\btwo (kinds|CRDs)\b", intro)


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_links_between_the_docs_resolve() -> None:
    broken = []
    for doc in DOCS:
        for target, anchor in re.findall(r"\]\(([\w./-]*\.md|)(?:#([\w-]+))?\)", doc.read_text()):
            path = (doc.parent / target) if target else doc
            if not path.is_file() or (anchor and anchor not in _anchors(path)):
                broken.append(f"{doc.name}: {target}#{anchor}")
    assert broken == []
