"""Build the local cluster's binaries from the pinned Go modules in hack/tools/, cached by version.

Each tool is built once into ``<cache>/<name>-<version>-<go.sum hash>/`` and reused afterwards; a
build goes to a temporary folder first and is renamed into place, so an interrupted build never
leaves a half-filled cache entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from slmfleet.devcluster.tool_pins import FILE_BUNDLES, GATEWAY_API, TOOLS, GoModuleFiles, GoTool

RETRY_HINT = "retry with `make tools` (or `slmfleet dev tools`)"


class ToolError(RuntimeError):
    """A tool is missing or its build failed; the message names it and the command to retry."""


def hack_dir() -> Path:
    """The hack/tools folder of this checkout (override with SLMFLEET_HACK_DIR)."""
    env = os.environ.get("SLMFLEET_HACK_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "hack" / "tools"


def cache_root() -> Path:
    """Where built tools live: SLMFLEET_TOOLS_DIR, else the user cache folder."""
    env = os.environ.get("SLMFLEET_TOOLS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slmfleet" / "tools"


def tool_dir(tool: GoTool | GoModuleFiles) -> Path:
    """The cache entry of one tool: keyed by its version and a hash of its pinned go.sum and
    recipe (packages and ldflags, or the files taken), so a changed recipe never reuses it."""
    sums = hack_dir() / tool.module / "go.sum"
    recipe = hashlib.sha256(sums.read_bytes() if sums.exists() else b"nosum")
    if isinstance(tool, GoTool):
        recipe.update("\n".join((*tool.packages, *tool.ldflags)).encode())
    else:
        recipe.update(f"{tool.go_module}/{tool.subdir}/{tool.pattern}".encode())
    return cache_root() / f"{tool.name}-{tool.version}-{recipe.hexdigest()[:10]}"


def bundle_files(bundle: GoModuleFiles = GATEWAY_API) -> list[Path]:
    """The cached files of a bundle (sorted), or a ToolError saying how to fetch them."""
    found = sorted((tool_dir(bundle) / "files").glob(bundle.pattern))
    if not found:
        raise ToolError(f"{bundle.name} {bundle.version} is not fetched; {RETRY_HINT}")
    return found


def binary_path(binary: str) -> Path:
    """The cached path of one binary, built or not."""
    for tool in TOOLS:
        if binary in tool.binaries:
            return tool_dir(tool) / "bin" / binary
    raise KeyError(binary)


def require(binary: str) -> Path:
    """The path of a built binary, or a ToolError saying how to build it."""
    path = binary_path(binary)
    if not path.exists():
        raise ToolError(f"{binary} is not built ({path} is missing); {RETRY_HINT}")
    return path


def _go_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The checksum database is not reachable here; go.sum committed in hack/tools pins every hash.
    env.update(
        {"CGO_ENABLED": "0", "GOSUMDB": "off", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    )
    env.setdefault("GOPATH", str(Path.home() / "go"))
    env["TMPDIR"] = str(workdir)
    return env


def build(tool: GoTool, log: Callable[[str], None] = print) -> Path:
    """Build one tool into its cache entry (no-op when present); return the folder of its binaries."""
    target = tool_dir(tool)
    if all((target / "bin" / b).exists() for b in tool.binaries):
        log(f"[tools] {tool.name} {tool.version}: cached at {target}")
        return target / "bin"
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            f"building {tool.name} needs Go (>= 1.25) on PATH; install it, then {RETRY_HINT}"
        )
    module_dir = hack_dir() / tool.module
    if not (module_dir / "go.mod").exists():
        raise ToolError(f"{module_dir}/go.mod is missing; cannot build {tool.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"[tools] building {tool.name} {tool.version} ({', '.join(tool.binaries)}) ...")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{tool.name}-") as tmp:
        out = Path(tmp) / "bin"
        out.mkdir()
        ldflags = " ".join(("-s", "-w", *tool.ldflags))
        cmd = [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(out) + "/", *tool.packages]
        work = Path(tmp) / "work"
        work.mkdir()
        proc = subprocess.run(
            cmd, cwd=module_dir, env=_go_env(work), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise ToolError(f"building {tool.name} {tool.version} failed:\n{tail}\n{RETRY_HINT}")
        _rename_binaries(out, tool)
        shutil.rmtree(work, ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        Path(tmp).rename(target)
        # TemporaryDirectory's cleanup must not fail on the folder we moved away.
        Path(tmp).mkdir()
    log(
        f"[tools] built {tool.name} {tool.version} in {time.monotonic() - started:.0f}s -> {target}"
    )
    return target / "bin"


def fetch(bundle: GoModuleFiles, log: Callable[[str], None] = print) -> Path:
    """Download a bundle's module (go.sum pins it) and copy its files into the cache."""
    target = tool_dir(bundle)
    if any((target / "files").glob(bundle.pattern)):
        log(f"[tools] {bundle.name} {bundle.version}: cached at {target}")
        return target / "files"
    go = shutil.which("go")
    if go is None:
        raise ToolError(f"fetching {bundle.name} needs Go on PATH; install it, then {RETRY_HINT}")
    module_dir = hack_dir() / bundle.module
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{bundle.name}-") as tmp:
        cmd = [go, "mod", "download", "-json", f"{bundle.go_module}@{bundle.version}"]
        work = Path(tmp) / "work"
        work.mkdir()
        proc = subprocess.run(
            cmd, cwd=module_dir, env=_go_env(work), capture_output=True, text=True, check=False
        )
        shutil.rmtree(work, ignore_errors=True)
        try:
            found = json.loads(proc.stdout or "{}").get("Dir")
        except ValueError:
            found = None
        files = sorted((Path(found) / bundle.subdir).glob(bundle.pattern)) if found else []
        if proc.returncode != 0 or not files:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ToolError(
                f"fetching {bundle.name} {bundle.version} failed:\n{tail}\n{RETRY_HINT}"
            )
        out = Path(tmp) / "files"
        out.mkdir()
        for path in files:
            shutil.copyfile(path, out / path.name)
        if target.exists():
            shutil.rmtree(target)
        Path(tmp).rename(target)
        Path(tmp).mkdir()  # TemporaryDirectory's cleanup must not fail on the moved folder
    log(f"[tools] fetched {bundle.name} {bundle.version} ({len(files)} files) -> {target}")
    return target / "files"


def _rename_binaries(out: Path, tool: GoTool) -> None:
    # `go build` names the etcd server binary after its module ("server"); give it its real name.
    for built in ("server", "v3"):
        if (out / built).exists() and "etcd" in tool.binaries:
            (out / built).rename(out / "etcd")
    missing = [b for b in tool.binaries if not (out / b).exists()]
    if missing:
        raise ToolError(f"building {tool.name} produced no {', '.join(missing)}; {RETRY_HINT}")


def ensure(
    names: Iterable[str] | None = None, log: Callable[[str], None] = print
) -> dict[str, Path]:
    """Build every tool that is missing (all by default); return binary name -> path."""
    every = {t.name for t in TOOLS} | {b.name for b in FILE_BUNDLES}
    wanted = set(names) if names is not None else every
    unknown = wanted - every
    if unknown:
        raise ToolError(f"unknown tools: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    paths: dict[str, Path] = {}
    for tool in TOOLS:
        if tool.name in wanted:
            bindir = build(tool, log)
            paths.update({b: bindir / b for b in tool.binaries})
    for bundle in FILE_BUNDLES:
        if bundle.name in wanted:
            paths[bundle.name] = fetch(bundle, log)
    log(f"[tools] all ready in {time.monotonic() - started:.0f}s")
    return paths
