"""Outages at the server itself: a database that refuses connections, a stopped broker.

From the more to the less contained (a line cut between one test's
processes and a server, which leaves the server up for everyone else, is
`TcpLine` in tests/support/tcp_line.py):

- `database_closed`: one test's PostgreSQL database refuses connections,
  and the ones it had are terminated. The server keeps running.
- `rabbitmq_app_stopped`: the real thing, `rabbitmqctl stop_app`. It stops
  the broker for the whole machine, so keep the block short.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

# ---- the whole RabbitMQ application ---------------------------------------------


def _rabbitmqctl(*args: str, timeout: float = 120) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=timeout)


@contextlib.contextmanager
def rabbitmq_app_stopped() -> Iterator[None]:
    """`rabbitmqctl stop_app` for the block; `start_app` always runs afterwards.

    This stops the broker for every user of this machine: keep the block to
    a few seconds.
    """
    if not shutil.which("rabbitmqctl"):
        raise RuntimeError("Stopping RabbitMQ needs rabbitmqctl on PATH (a local broker).")
    try:
        _rabbitmqctl("stop_app")
        yield
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup", "--timeout", "60")


# ---- one PostgreSQL database -----------------------------------------------------


def _admin_connection(database_url: str) -> psycopg2.extensions.connection:
    """A superuser connection to the `postgres` database of the same server."""
    admin = psycopg2.connect(
        urllib.parse.urlsplit(database_url)._replace(path="/postgres").geturl()
    )
    admin.autocommit = True
    return admin


def _allow_connections(database_url: str, allowed: bool) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    admin = _admin_connection(database_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.Literal(allowed)
                )
            )
            if not allowed:
                # ALLOW_CONNECTIONS only stops new ones; end those already open.
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                )
    finally:
        admin.close()


@contextlib.contextmanager
def database_closed(database_url: str) -> Iterator[None]:
    """The database of `database_url` refuses every connection during the block."""
    _allow_connections(database_url, False)
    try:
        yield
    finally:
        _allow_connections(database_url, True)
