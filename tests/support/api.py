"""A client for the web's JSON API, as an outside tool would use it."""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

FINAL = {"ready", "failed", "cancelled"}


@dataclass
class ApiClient:
    base_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def _csrf_token(self) -> str:
        # Any API GET sets Django's csrftoken cookie; POSTs echo it back.
        if "csrftoken" not in self.session.cookies:
            self.session.get(f"{self.base_url}/api/videos/", timeout=10).raise_for_status()
        return self.session.cookies["csrftoken"]

    def upload(
        self, path: Path, *, title: str = "", filename: str | None = None
    ) -> requests.Response:
        token = self._csrf_token()
        with open(path, "rb") as handle:
            return self.session.post(
                f"{self.base_url}/api/videos/",
                files={"file": (filename or path.name, handle)},
                data={"title": title},
                headers={"X-CSRFToken": token, "Referer": self.base_url + "/"},
                timeout=120,
            )

    def upload_started(self, *, declared_bytes: int, sent_bytes: int) -> socket.socket:
        """Begin a multipart upload of `declared_bytes` and stop after `sent_bytes`.

        A raw socket, because an HTTP library always finishes (or aborts) the
        body itself. The caller decides what happens next: close the socket
        (the client gives up) or kill the server while it waits for the rest.
        """
        token = self._csrf_token()
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\ncut off\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        url = urllib.parse.urlsplit(self.base_url)
        cookies = "; ".join(f"{k}={v}" for k, v in self.session.cookies.items())
        request_head = (
            f"POST /api/videos/ HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + declared_bytes + len(tail)}\r\n"
            f"Cookie: {cookies}\r\nX-CSRFToken: {token}\r\nReferer: {self.base_url}/\r\n\r\n"
        ).encode()
        sock = socket.create_connection((url.hostname, url.port), timeout=30)
        sock.sendall(request_head + head)
        chunk = os.urandom(1 << 20)
        for offset in range(0, sent_bytes, len(chunk)):
            sock.sendall(chunk[: sent_bytes - offset])
        return sock

    def video(self, video_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/api/videos/{video_id}/", timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_final(
        self, video_id: str, *, timeout: float = 120
    ) -> tuple[dict[str, Any], list[dict]]:
        """Poll until the video is final. Returns the last body and every body seen."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.video(video_id)
            seen.append(body)
            if body["status"] in FINAL:
                return body, seen
            time.sleep(0.2)
        raise AssertionError(f"video {video_id} not final after {timeout} s; last: {seen[-1:]}")

    def get(self, url: str) -> requests.Response:
        return self.session.get(f"{self.base_url}{url}", timeout=30)
