"""Schemathesis' auth for tests/e2e/test_api_schema.py (loaded through SCHEMATHESIS_HOOKS).

Every request carries one person's token, except DELETE /api/auth/token/,
which revokes the token it is sent with: each of those gets a token of its
own, fresh from the person's password, so the run's token stays valid.
"""

from __future__ import annotations

import os

import requests
import schemathesis

BASE_URL = os.environ["SCHEMA_TEST_BASE_URL"]
REVOKE = ("DELETE", "/api/auth/token/")


def _token_new() -> str:
    response = requests.post(
        f"{BASE_URL}/api/auth/token/",
        data={
            "username": os.environ["SCHEMA_TEST_USERNAME"],
            "password": os.environ["SCHEMA_TEST_PASSWORD"],
        },
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["token"]


@schemathesis.auth(refresh_interval=None)
class PersonToken:
    def __init__(self) -> None:
        self.shared: str | None = None

    def get(self, case, context) -> str:
        if (case.operation.method.upper(), case.operation.path) == REVOKE:
            return _token_new()
        if self.shared is None:
            self.shared = _token_new()
        return self.shared

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}
