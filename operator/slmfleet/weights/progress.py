"""A download's progress: measured from the cache directory, served as JSON over HTTP."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from huggingface_hub.file_download import repo_folder_name


def scan(cache_dir: Path, repo: str, since: float) -> tuple[int, int]:
    """Bytes and files in the repo's cache folder: complete blobs, plus partial downloads written
    since ``since`` (an earlier, killed run leaves partial files nobody resumes); files are the
    snapshot entries present."""
    folder = cache_dir / repo_folder_name(repo_id=repo, repo_type="model")
    nbytes = 0
    for blob in (folder / "blobs").glob("*"):
        try:
            stat = blob.stat()
        except OSError:
            continue  # moved into place or removed while we looked
        if not blob.name.endswith(".incomplete") or stat.st_mtime >= since:
            nbytes += stat.st_size
    files = sum(1 for p in (folder / "snapshots").glob("*/**/*") if p.is_file())
    return nbytes, files


class Progress:
    """Bytes and files done and to do; read by the HTTP thread, written by the watcher."""

    def __init__(self) -> None:
        self.started = time.time()
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "phase": "Downloading",
            "bytesDone": 0,
            "bytesTotal": None,
            "filesDone": 0,
            "filesTotal": None,
        }

    def set_totals(self, nbytes: int, files: int) -> None:
        with self._lock:
            self._state.update(bytesTotal=nbytes, filesTotal=files)

    def update(self, nbytes: int, files: int) -> None:
        with self._lock:
            total = self._state["bytesTotal"]
            done = min(nbytes, total) if total is not None else nbytes
            self._state.update(bytesDone=done, filesDone=files)

    def finish(self, nbytes: int, files: int) -> None:
        self.update(nbytes, files)
        with self._lock:
            self._state["phase"] = "Complete"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)


class ProgressServer:
    """GET /progress -> the Progress as JSON (and 200 on / for a readiness probe)."""

    def __init__(self, progress: Progress, port: int) -> None:
        state = progress

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(state.snapshot()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ProgressServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
