"""Shell completion for `kubectl slm` (installed as the `kubectl_complete-slm` executable).

kubectl (1.26 and later) completes a plugin's arguments by running `kubectl_complete-slm ARGS...
PARTIAL` and reading one candidate per line, then a `:DIRECTIVE` line (cobra's protocol; 4 means
"no file completion"). Candidates: the subcommands, their flags, and SmallModel names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

NO_FILE_COMPLETION = ":4"
NAMED = ("plan", "status", "history", "diff", "promote", "abort", "retry", "rollback")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--"))


def candidates(
    parser: argparse.ArgumentParser,
    words: Sequence[str],
    model_names: Callable[[Sequence[str]], list[str]],
) -> list[str]:
    """What may follow `words[:-1]`, starting with the partial word `words[-1]`."""
    *done, partial = [*words] or [""]
    commands = _subcommands(parser)
    command = next((w for w in done if w in commands), None)
    if partial.startswith("-"):
        found = _flags(commands[command] if command else parser)
    elif command is None:
        found = sorted(commands)
    elif command in NAMED:
        found = model_names(done)
    else:
        found = []
    return [c for c in found if c.startswith(partial)]


def _names_from_cluster(done: Sequence[str]) -> list[str]:
    from slmfleet.cli.kubectl_slm import _client, add_common_flags

    flags = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_common_flags(flags, on_subcommand=False)
    try:
        args, _ = flags.parse_known_args(list(done))
        kube, namespace = _client(args)
        return sorted(m["metadata"]["name"] for m in kube.list("SmallModel", namespace))
    except Exception:  # completion must never fail loudly
        return []


def main(argv: Sequence[str] | None = None) -> int:
    from slmfleet.cli.kubectl_slm import build_parser

    words = list(sys.argv[1:] if argv is None else argv)
    for line in candidates(build_parser(), words, _names_from_cluster):
        print(line)
    print(NO_FILE_COMPLETION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
