"""Throwaway broker and database namespaces, so tests never share messages or
rows with a `make run` left running on the same machine."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import sql

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _management_request(method: str, path: str, body: dict | None = None) -> None:
    base = urllib.parse.urlsplit(os.environ["RABBITMQ_MANAGEMENT_URL"])
    url = f"{base.scheme}://{base.hostname}:{base.port}/api/{path}"
    request = urllib.request.Request(url, method=method, data=json.dumps(body or {}).encode())
    request.add_header("content-type", "application/json")
    credentials = f"{base.username}:{base.password}".encode()
    request.add_header("authorization", "Basic " + base64.b64encode(credentials).decode())
    urllib.request.urlopen(request, timeout=10).close()


def _vhost_add(name: str, user: str) -> None:
    if os.environ.get("RABBITMQ_MANAGEMENT_URL"):
        quoted = urllib.parse.quote(name, safe="")
        _management_request("PUT", f"vhosts/{quoted}")
        perms = {"configure": ".*", "write": ".*", "read": ".*"}
        _management_request("PUT", f"permissions/{quoted}/{user}", perms)
        return
    if not shutil.which("rabbitmqctl"):
        raise RuntimeError(
            "Creating a throwaway RabbitMQ vhost needs rabbitmqctl on PATH, "
            "or RABBITMQ_MANAGEMENT_URL=http://user:pass@host:15672"
        )
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )


def _vhost_delete(name: str) -> None:
    if os.environ.get("RABBITMQ_MANAGEMENT_URL"):
        _management_request("DELETE", f"vhosts/{urllib.parse.quote(name, safe='')}")
        return
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True)


@contextmanager
def rabbitmq_vhost(prefix: str = "e2e") -> Iterator[str]:
    """Yield a broker URL on a new vhost; the vhost and its queues go afterwards."""
    base = urllib.parse.urlsplit(os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL)
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    _vhost_add(name, base.username or "guest")
    try:
        yield base._replace(path="/" + urllib.parse.quote(name, safe="")).geturl()
    finally:
        _vhost_delete(name)


@contextmanager
def postgres_database(prefix: str = "e2e") -> Iterator[str]:
    """Yield a DATABASE_URL of a new, empty database; it is dropped afterwards."""
    admin_url = os.environ.get("E2E_ADMIN_DATABASE_URL") or DEFAULT_DATABASE_URL
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield urllib.parse.urlsplit(admin_url)._replace(path="/" + name).geturl()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()
