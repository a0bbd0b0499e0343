"""The worker's link to the broker outlives a blip: only the heartbeats end it.

py-amqp's default TCP_USER_TIMEOUT (1 s) aborted the connection when any
data (a heartbeat, a PROGRESS) went unacknowledged for a second, and the
worker then cancels its running jobs (the multi-host test saw a transcode
killed 1.5 s after its link was cut). The option is read back from the
real socket of a real connection, opened with the worker's own settings.
"""

from __future__ import annotations

import socket

import pytest

from transcoder.worker import app, broker_socket_options

pytestmark = pytest.mark.broker


def test_the_broker_socket_gives_up_after_two_heartbeats_not_one_second(broker_url: str) -> None:
    heartbeat = app.conf.broker_heartbeat
    assert heartbeat > 0
    with app.connection_for_write(url=broker_url) as connection:
        connection.ensure_connection(max_retries=1)
        sock = connection.connection.sock
        user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    assert user_timeout == int(2000 * heartbeat)


def test_without_heartbeats_py_amqps_own_settings_stay() -> None:
    assert broker_socket_options(heartbeat=0) == {}
