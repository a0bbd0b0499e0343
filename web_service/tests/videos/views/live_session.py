"""A signed-in browser's session over real HTTP, for requests sent from many threads at once.

Django's test Client runs a request in the calling thread on that thread's
database connection; this goes through `live_server`, whose threads each
have their own, so requests really overlap as under gunicorn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

from ...conftest import logged_in_client

_HTTP = urllib3.PoolManager(maxsize=16)


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
        answer = _HTTP.request(
            method,
            self.base_url + path,
            body=None if body is None else json.dumps(body).encode(),
            headers={
                "Cookie": self.cookie,
                "X-CSRFToken": self.csrf_token,
                "Content-Type": "application/json",
                # A kept-alive connection would keep its server thread, and
                # that thread's database connection, after the test.
                "Connection": "close",
            },
            timeout=60,
            retries=False,
        )
        try:
            data = json.loads(answer.data) if answer.data else {}
        except ValueError:  # an error page: keep its start, for the assertion to show
            data = {"page": answer.data[:300].decode(errors="replace")}
        return Answer(answer.status, answer.headers.get("Retry-After"), data)
