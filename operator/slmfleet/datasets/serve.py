"""The dataset loader Job's process: it reads an EvalSuite's JSONL file from the claim mounted
read-only, checks it as the operator will (every line a valid case, names unique, at most
MAX_DATASET_CASES), and hands it to the operator over HTTP.

``GET /cases.jsonl`` answers the file (200) or why it cannot be used (422, one line). The
process exits 0 once nobody asked for ``--idle-seconds`` (since its start or the last
answer): the operator fetches the file once and keeps the cases in memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from slmfleet.analysis.dataset import DatasetError, parse_jsonl

DATASET_PORT = 8095
CASES_PATH = "/cases.jsonl"
MAX_BYTES = 64 * 1024 * 1024
"""A file larger than this is refused unread (5,000 cases of 12 KiB each)."""
IDLE_SECONDS = 120.0


def load(path: Path) -> tuple[int, bytes]:
    """(HTTP status, body) for the file: 200 and the file, or 422 and why not."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return 422, f"{path.name}: {size} bytes, more than {MAX_BYTES}".encode()
        raw = path.read_bytes()
        parse_jsonl(raw.decode("utf-8"))
    except OSError as err:
        return 422, f"cannot read {path.name} on the claim: {err.strerror}".encode()
    except UnicodeDecodeError:
        return 422, f"{path.name} is not UTF-8".encode()
    except DatasetError as err:
        return 422, f"{path.name}: {err}".encode()
    return 200, raw


class _Answers:
    """What the handler answers and when it last did."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.last = time.monotonic()


def serve(path: Path, port: int, idle: float) -> int:
    answers = _Answers(*load(path))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != CASES_PATH:
                self.send_error(404)
                return
            ctype = "application/jsonl" if answers.status == 200 else "text/plain"
            self.send_response(answers.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(answers.body)))
            self.end_headers()
            self.wfile.write(answers.body)
            answers.last = time.monotonic()

        def log_message(self, format: str, *args: object) -> None:
            pass  # one request per load: nothing worth a log line

    server = ThreadingHTTPServer(("", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    while (left := answers.last + idle - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
    server.shutdown()
    server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slmfleet.datasets.serve")
    parser.add_argument("--port", type=int, default=DATASET_PORT)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    args = parser.parse_args(argv)
    # the file's path comes in the environment: the claim's mount path, set by the operator
    return serve(Path(os.environ["SLMFLEET_DATASET_FILE"]), args.port, args.idle_seconds)


if __name__ == "__main__":
    sys.exit(main())
