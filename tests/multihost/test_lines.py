"""The line between a host and a loopback-only server (tests/support/tcp_line.py, TcpLine).

A sink on the root namespace's loopback counts what it receives and answers
with the count; a client inside a host reaches it only through a line in the
host's wire namespace, as the workers in test_two_hosts.py reach RabbitMQ and the store.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.hosts import Host, host_running
from tests.support.tcp_line import BrokerLine, TcpLine

PAYLOAD = 400_000  # bytes
RATE = 200_000  # bytes per second: the payload takes about 2 s


@pytest.fixture
def sink() -> Iterator[tuple[str, int]]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed at teardown
                return
            with client:
                received = 0
                while chunk := client.recv(65536):
                    received += len(chunk)
                # The client half-closed; the line must pass the answer back.
                client.sendall(str(received).encode())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()
    server.close()


@pytest.fixture
def host() -> Iterator[Host]:
    with host_running("line", behind_lines=True) as made:
        yield made


def _send_from(host: Host, port: int) -> tuple[int, str, float]:
    """From inside `host`: send PAYLOAD bytes to the line, half-close, read the answer."""
    script = (
        "import socket, sys, time\n"
        "start = time.monotonic()\n"
        "try:\n"
        f"    s = socket.create_connection(({host.gateway!r}, {port}), timeout=10)\n"
        f"    s.sendall(bytes({PAYLOAD}))\n"
        "    s.shutdown(socket.SHUT_WR)\n"
        "    print(s.recv(100).decode(), time.monotonic() - start)\n"
        "except OSError as error:\n"
        "    print(type(error).__name__, time.monotonic() - start)\n"
    )
    done = subprocess.run(
        host.argv([sys.executable, "-c", script]), capture_output=True, text=True, timeout=60
    )
    answer, seconds = done.stdout.split()
    return done.returncode, answer, float(seconds)


def test_a_line_forwards_throttles_cuts_and_reopens(host: Host, sink: tuple[str, int]):
    line = host.line_to(f"tcp://{sink[0]}:{sink[1]}")
    line.open()
    try:
        assert _send_from(host, line.port)[1] == str(PAYLOAD)

        line.throttle(RATE)
        _, answer, seconds = _send_from(host, line.port)
        assert answer == str(PAYLOAD)
        assert seconds >= 0.9 * PAYLOAD / RATE, seconds  # slow, as asked...
        line.throttle(None)
        _, answer, seconds = _send_from(host, line.port)
        assert answer == str(PAYLOAD)
        assert seconds < 1, seconds  # ...and fast again

        line.cut()
        assert _send_from(host, line.port)[1] == "ConnectionRefusedError"
        line.open()  # on the same port: URLs already handed out stay valid
        assert _send_from(host, line.port)[1] == str(PAYLOAD)
    finally:
        line.cut()


def test_a_throttle_set_while_a_transfer_runs_applies_at_once(host: Host, sink: tuple[str, int]):
    line = host.line_to(f"tcp://{sink[0]}:{sink[1]}")
    line.open()
    line.throttle(RATE // 10)  # 20 s for the payload, unless lifted
    # Timed from here, as the timer is: the client's own clock starts only
    # once its interpreter is up, which takes a while on a busy machine.
    started = time.monotonic()
    threading.Timer(1.0, line.throttle, args=(None,)).start()
    try:
        _, answer, _ = _send_from(host, line.port)
    finally:
        line.cut()
    seconds = time.monotonic() - started
    assert answer == str(PAYLOAD)
    assert 0.9 < seconds < 5, seconds


def test_url_through_keeps_everything_but_the_address():
    line = TcpLine(("127.0.0.1", 5672))
    assert line.url_through("amqp://user:pw@localhost:5672/vhost") == (
        f"amqp://user:pw@127.0.0.1:{line.port}/vhost"
    )
    assert line.url_through("http://127.0.0.1:8333/bucket?x=1") == (
        f"http://127.0.0.1:{line.port}/bucket?x=1"
    )
    # Default ports are filled in from the scheme; the old name still works.
    assert TcpLine.to("http://store.internal").upstream == ("store.internal", 80)
    assert BrokerLine.to("amqp://guest:guest@localhost//").upstream == ("localhost", 5672)
