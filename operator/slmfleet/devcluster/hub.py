"""A loopback stand-in for the Hugging Face Hub: the part of its HTTP API huggingface_hub uses
to download a snapshot, serving generated repos, with a log of every request.

Point ``HF_ENDPOINT`` at ``url`` and ``snapshot_download`` works against it: the file listing
(``/api/models/REPO/tree/REV``), model info (``/api/models/REPO/revision/REV``) and the files
(``HEAD`` and ``GET /REPO/resolve/REV/PATH``, ranges included). ``bytes_per_second`` slows file
bodies down, so a test can watch a download's progress or stop it midway.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

CHUNK = 64 * 1024
LFS_THRESHOLD = 10 * 1024
_TREE = re.compile(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$")
_INFO = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Logged:
    """One request the stand-in answered."""

    method: str
    path: str
    range: str | None
    status: int


@dataclass(frozen=True)
class HubFile:
    path: str
    data: bytes

    @property
    def lfs(self) -> bool:
        return len(self.data) >= LFS_THRESHOLD

    @property
    def etag(self) -> str:
        """sha256 for LFS files, the git blob sha1 otherwise (as the Hub does)."""
        if self.lfs:
            return hashlib.sha256(self.data).hexdigest()
        header = f"blob {len(self.data)}\0".encode()
        return hashlib.sha1(header + self.data, usedforsecurity=False).hexdigest()


@dataclass
class HubRepo:
    repo: str
    revision: str
    files: dict[str, bytes]
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        if re.fullmatch(r"[0-9a-f]{40}", self.revision):
            self.sha = self.revision
        else:
            self.sha = hashlib.sha1(
                f"{self.repo}@{self.revision}".encode(), usedforsecurity=False
            ).hexdigest()

    def file(self, path: str) -> HubFile | None:
        data = self.files.get(path)
        return HubFile(path, data) if data is not None else None


def safetensors_shard(nbytes: int, name: str) -> bytes:
    """A valid safetensors file of about ``nbytes``: one uint8 tensor of zeros."""
    size = max(1, nbytes - 128)
    header = json.dumps({name: {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}})
    raw = header.encode().ljust(-(-len(header) // 8) * 8, b" ")
    return len(raw).to_bytes(8, "little") + raw + bytes(size)


def tiny_snapshot(shard_bytes: Sequence[int] = (1024**2,) * 3) -> dict[str, bytes]:
    """Config, tokenizer, one weight file per ``shard_bytes`` entry, and an ONNX export and a
    README the engine does not need (a download with allow_patterns leaves them out)."""
    files = {
        "config.json": json.dumps({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3"}),
        "generation_config.json": json.dumps({"do_sample": True}),
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE"}}),
        "tokenizer_config.json": json.dumps({"model_max_length": 32768}),
        "README.md": "# a generated test model\n",
    }
    out = {k: v.encode() for k, v in files.items()}
    count = len(shard_bytes)
    for i, size in enumerate(shard_bytes, start=1):
        name = f"model-{i:05d}-of-{count:05d}.safetensors"
        out[name] = safetensors_shard(size, f"layer{i}.weight")
    out["onnx/model.onnx"] = bytes(1024)
    return out


class HubStandIn:
    """``with HubStandIn({...}) as hub``: serves ``repos`` at ``hub.url`` until stopped."""

    def __init__(self, repos: list[HubRepo], bytes_per_second: float | None = None) -> None:
        self.repos = {(r.repo, r.revision): r for r in repos}
        self.repos.update({(r.repo, r.sha): r for r in repos})
        self.bytes_per_second = bytes_per_second
        self.log: list[Logged] = []
        self.bytes_served = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HubStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        with self._lock:
            return [
                r for r in self.log if (method is None or r.method == method) and contains in r.path
            ]

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def _repo(self, repo: str, revision: str) -> HubRepo | None:
        return self.repos.get((repo, unquote(revision)))

    def tree(self, repo: HubRepo) -> list[dict[str, Any]]:
        out = []
        for path in sorted(repo.files):
            f = repo.file(path)
            assert f is not None
            entry: dict[str, Any] = {
                "type": "file",
                "oid": f.etag,
                "size": len(f.data),
                "path": path,
            }
            if f.lfs:
                entry["lfs"] = {"oid": f.etag, "size": len(f.data), "pointerSize": 134}
            out.append(entry)
        return out

    def info(self, repo: HubRepo) -> dict[str, Any]:
        return {
            "id": repo.repo,
            "modelId": repo.repo,
            "sha": repo.sha,
            "private": False,
            "siblings": [{"rfilename": p} for p in sorted(repo.files)],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw)

            def _not_found(self, repo: HubRepo | None) -> int:
                code = "EntryNotFound" if repo is not None else "RepoNotFound"
                headers = {"X-Error-Code": code}
                if repo is not None:
                    headers["X-Repo-Commit"] = repo.sha
                self._json(404, {"error": code}, headers)
                return 404

            def _file(self, repo: HubRepo, path: str) -> int:
                f = repo.file(path)
                if f is None:
                    return self._not_found(repo)
                data, start, status = f.data, 0, 200
                wanted = _RANGE.match(self.headers.get("Range") or "")
                if wanted and self.command == "GET":
                    start = int(wanted.group(1))
                    end = int(wanted.group(2)) + 1 if wanted.group(2) else len(data)
                    data, status = f.data[start:end], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("X-Repo-Commit", repo.sha)
                self.send_header("ETag", f'"{f.etag}"')
                if f.lfs:
                    self.send_header("X-Linked-Etag", f'"{f.etag}"')
                    self.send_header("X-Linked-Size", str(len(f.data)))
                if status == 206:
                    end_byte = start + len(data) - 1
                    self.send_header("Content-Range", f"bytes {start}-{end_byte}/{len(f.data)}")
                self.end_headers()
                if self.command == "GET":
                    self._send_slowly(data)
                return status

            def _send_slowly(self, data: bytes) -> None:
                for offset in range(0, len(data), CHUNK):
                    chunk = data[offset : offset + CHUNK]
                    self.wfile.write(chunk)
                    with hub._lock:
                        hub.bytes_served += len(chunk)
                    rate = hub.bytes_per_second
                    if rate:
                        time.sleep(min(CHUNK, len(data) - offset) / rate)

            def _route(self) -> int:
                path = urlparse(self.path).path
                if m := _TREE.match(path):
                    repo = hub._repo(m.group(1), m.group(2))
                    if repo is None:
                        return self._not_found(None)
                    self._json(200, hub.tree(repo))
                    return 200
                if m := _INFO.match(path):
                    repo = hub._repo(m.group(1), m.group(2) or "main")
                    if repo is None:
                        return self._not_found(None)
                    self._json(200, hub.info(repo))
                    return 200
                if m := _RESOLVE.match(path):
                    repo = hub._repo(m.group(1), m.group(2))
                    if repo is None:
                        return self._not_found(None)
                    return self._file(repo, unquote(m.group(3)))
                return self._not_found(None)

            def _serve(self) -> None:
                status = 500
                try:
                    status = self._route()
                except (BrokenPipeError, ConnectionResetError):
                    status = 499  # the client went away (a killed download)
                finally:
                    hub._record(Logged(self.command, self.path, self.headers.get("Range"), status))

            def do_GET(self) -> None:
                self._serve()

            def do_HEAD(self) -> None:
                self._serve()

        return Handler


MIB = 1024**2
STAND_IN_REPO = "Qwen/Qwen3-0.6B"  # in the planner's catalog: the operator plans it offline
STAND_IN_REVISIONS = tuple(f"c0ffee{i:034d}" for i in range(1, 5))
STAND_IN_SHARDS = (MIB, MIB, 40 * MIB)
"""Two small weight files and a big one (huggingface_hub writes 10 MiB at a time)."""


def stand_in(bytes_per_second: float | None = None) -> HubStandIn:
    """The stand-in the tests and benchmarks use: STAND_IN_REPO at each of STAND_IN_REVISIONS."""
    snapshot = tiny_snapshot(STAND_IN_SHARDS)
    repos = [HubRepo(STAND_IN_REPO, rev, snapshot) for rev in STAND_IN_REVISIONS]
    return HubStandIn(repos, bytes_per_second)
