"""A minimal streaming HTTP sink: reads each request body and throws it away.

    python -m bench.sink PORT [DIRECTORY]

The upload baseline: the same curl command as the API upload, to a server
that does nothing but read, so the ratio shows what the web adds. Given a
DIRECTORY, it also writes each body to a file there (then deletes it): the
disk's share of an upload, on the same file system as MEDIA_ROOT.
"""

from __future__ import annotations

import os
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1024 * 1024


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        remaining = int(self.headers.get("Content-Length") or 0)
        received = 0
        out = tempfile.NamedTemporaryFile(dir=DIRECTORY) if DIRECTORY else None  # noqa: SIM115
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                if out is not None:
                    out.write(chunk)
                received += len(chunk)
                remaining -= len(chunk)
        finally:
            if out is not None:
                out.close()
        body = f'{{"received": {received}}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


DIRECTORY = sys.argv[2] if len(sys.argv) > 2 else None


def main() -> int:
    if DIRECTORY:
        os.makedirs(DIRECTORY, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
