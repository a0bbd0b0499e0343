"""Taking a dependency away from the system under test, and giving it back.

Three kinds of outage, from the most to the least contained:

- `BrokerLine`: a TCP proxy between one test's processes and RabbitMQ. Cutting
  it looks to those processes exactly like a broker that died (connections
  reset, new ones refused), while RabbitMQ itself, and everyone else using
  it, carries on.
- `database_closed`: one test's PostgreSQL database refuses connections,
  and the ones it had are terminated. The server keeps running.
- `rabbitmq_app_stopped`: the real thing, `rabbitmqctl stop_app`. It stops
  the broker for the whole machine, so keep the block short.
"""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import struct
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

# ---- the broker, behind a line we can cut ---------------------------------------


class BrokerLine:
    """Forwards 127.0.0.1:`port` to the broker at `upstream`, until cut."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:  # a free port, kept for every reopen
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._lock = threading.Lock()
        self._links: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    @classmethod
    def to(cls, broker_url: str) -> BrokerLine:
        parts = urllib.parse.urlsplit(broker_url)
        return cls((parts.hostname or "127.0.0.1", parts.port or 5672))

    def url_through(self, broker_url: str) -> str:
        """`broker_url` (credentials, vhost) going through this line instead."""
        parts = urllib.parse.urlsplit(broker_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    def open(self) -> None:
        """Accept connections again (on the same port)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        # A timeout, so the accept loop notices `cut` within a fraction of a second.
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and reset every open one, as a crashed broker would."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            links, self._links = self._links, set()
        for sock in links:
            # SO_LINGER 0: close() sends a reset, not a polite FIN.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while we connected
                    client.close()
                    upstream.close()
                    return
                self._links |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select(timeout=0.5):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        peer[key.fileobj].sendall(data)
                    if a not in self._links:  # cut
                        return
            except (OSError, ValueError):
                return
            finally:
                with self._lock:
                    self._links -= {a, b}
                for sock in peer:
                    with contextlib.suppress(OSError):
                        sock.close()


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
