"""A client for the web's JSON API, as an outside tool would use it."""

from __future__ import annotations

import os
import secrets
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
    """One person using the API: a fresh account by default, signed up on first use.

    It signs up through the page's own form (`/accounts/signup/`), which also
    logs this session in, so HTML pages and /media work with its cookie; then
    it trades the password for a token (`/api/auth/token/`), as docs/api.md
    shows, and sends `Authorization: Token ...` on every call. Writes go out
    with the token and no cookie at all, as a script's would: no CSRF dance.
    """

    base_url: str
    username: str = field(default_factory=lambda: f"user-{uuid.uuid4().hex[:12]}")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # False for an account that exists already: log in instead of signing up.
    sign_up: bool = True
    session: requests.Session = field(default_factory=requests.Session)
    _token: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        """The headers that authenticate a request as this person."""
        if self._token is None:
            self._token = self._account_open()
            self.session.headers["Authorization"] = f"Token {self._token}"
        return {"Authorization": f"Token {self._token}"}

    def _account_open(self) -> str:
        form_url = f"{self.base_url}/accounts/{'signup' if self.sign_up else 'login'}/"
        self.session.get(form_url, timeout=10).raise_for_status()
        fields = (
            {"password1": self.password, "password2": self.password}
            if self.sign_up
            else {"password": self.password}
        )
        response = self.session.post(
            form_url,
            data={
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
                "username": self.username,
                **fields,
            },
            headers={"Referer": form_url},
            allow_redirects=False,
            timeout=10,
        )
        # Both forms redirect once they succeed; they answer 200 with errors.
        assert response.status_code == 302, f"{form_url}: {response.status_code} {response.text}"
        token = requests.post(
            f"{self.base_url}/api/auth/token/",
            data={"username": self.username, "password": self.password},
            timeout=10,
        )
        token.raise_for_status()
        return token.json()["token"]

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """An API write as a script sends it: the token, and no cookie."""
        return requests.post(f"{self.base_url}{url}", headers=self.headers(), timeout=30, **kwargs)

    def delete(self, url: str) -> requests.Response:
        return requests.delete(f"{self.base_url}{url}", headers=self.headers(), timeout=30)

    def upload(
        self, path: Path, *, title: str = "", filename: str | None = None
    ) -> requests.Response:
        with open(path, "rb") as handle:
            return requests.post(
                f"{self.base_url}/api/videos/",
                files={"file": (filename or path.name, handle)},
                data={"title": title},
                headers=self.headers(),
                timeout=120,
            )

    def upload_started(self, *, declared_bytes: int, sent_bytes: int) -> socket.socket:
        """Begin a multipart upload of `declared_bytes` and stop after `sent_bytes`.

        A raw socket, because an HTTP library always finishes (or aborts) the
        body itself. The caller decides what happens next: close the socket
        (the client gives up) or kill the server while it waits for the rest.
        """
        auth = self.headers()["Authorization"]
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\ncut off\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        url = urllib.parse.urlsplit(self.base_url)
        request_head = (
            f"POST /api/videos/ HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + declared_bytes + len(tail)}\r\n"
            f"Authorization: {auth}\r\n\r\n"
        ).encode()
        sock = socket.create_connection((url.hostname, url.port), timeout=30)
        sock.sendall(request_head + head)
        chunk = os.urandom(1 << 20)
        for offset in range(0, sent_bytes, len(chunk)):
            sock.sendall(chunk[: sent_bytes - offset])
        return sock

    def video(self, video_id: str) -> dict[str, Any]:
        self.headers()
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

    def signed_url(self, media_url: str) -> str:
        """The store's signed URL that the web's `/media/...` redirects this person to."""
        redirect = self.get(media_url, allow_redirects=False)
        assert redirect.status_code == 302, (media_url, redirect.status_code, redirect.text[:300])
        return redirect.headers["Location"]

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.headers()
        return self.session.get(f"{self.base_url}{url}", timeout=30, **kwargs)
