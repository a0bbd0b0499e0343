"""A signed-in browser's session over real HTTP, for requests sent from many threads at once.

Django's test Client runs a request in the calling thread on that thread's
database connection; this goes through `live_server`, whose threads each
have their own, so requests really overlap as under gunicorn.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ...conftest import logged_in_client


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class LiveSession:
    base_url: str
    cookie: str
    csrf_token: str

    @classmethod
    def for_person(cls, *, base_url: str, person: Any) -> LiveSession:
        client, token = logged_in_client(person)
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        return cls(base_url=base_url, cookie=cookie, csrf_token=token)

    def send(self, method: str, path: str, body: Any = None) -> Answer:
        # urllib, not urllib3's pool: a new connection per request, closed
        # with it, so no request goes out on one the server is closing.
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Cookie": self.cookie,
                "X-CSRFToken": self.csrf_token,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return _answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as refused:
            return _answer(refused.code, refused.headers, refused.read())


def _answer(status: int, headers: Any, data: bytes) -> Answer:
    try:
        body = json.loads(data) if data else {}
    except ValueError:  # an error page: keep its start, for the assertion to show
        body = {"page": data[:300].decode(errors="replace")}
    return Answer(status, headers.get("Retry-After"), body)
