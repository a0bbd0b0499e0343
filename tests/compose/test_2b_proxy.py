"""nginx in front of gunicorn: slow clients cannot starve the web.

gunicorn has WEB_CONCURRENCY x WEB_THREADS = 8 threads here. Without a
buffering proxy, 8 uploads that trickle in a byte a second held all of them,
and /healthz timed out on 5 tries of 5. nginx now reads each request whole
before gunicorn sees it. It also refuses a body declared over the limit
itself, before the body is sent.

Runs before test_3_down.py, on the package's one stack.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse

import pytest
import requests

pytestmark = pytest.mark.timeout(600)

SLOW_UPLOADS = 12  # more than gunicorn's 2 workers x 4 threads


def _request_head(web_url: str, headers: dict[str, str], declared: int) -> bytes:
    url = urllib.parse.urlsplit(web_url)
    lines = [
        "POST /api/videos/ HTTP/1.1",
        f"Host: {url.netloc}",
        "Content-Type: multipart/form-data; boundary=slowboundary",
        f"Content-Length: {declared}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _connect(web_url: str) -> socket.socket:
    url = urllib.parse.urlsplit(web_url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def test_slow_uploads_do_not_starve_the_web(api, web_url):
    headers = api.headers()  # a person's token: the view really reads the body
    body = (
        b'--slowboundary\r\nContent-Disposition: form-data; name="file"; '
        b'filename="slow.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    )
    stop = threading.Event()
    sockets = []
    for _ in range(SLOW_UPLOADS):
        sock = _connect(web_url)
        sock.sendall(_request_head(web_url, headers, 1_000_000) + body)
        sockets.append(sock)

    def trickle():
        # A byte a second on every connection: slow, never idle.
        while not stop.wait(1):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        time.sleep(3)  # the uploads are all in flight
        answered = []
        for _ in range(5):
            started = time.monotonic()
            response = requests.get(f"{web_url}/healthz", timeout=2)
            answered.append((response.status_code, round(time.monotonic() - started, 2)))
            time.sleep(0.5)
        assert [status for status, _ in answered] == [200] * 5, answered
        assert all(seconds < 2 for _, seconds in answered), answered
        # Every slow upload is still open: they were held, not dropped.
        for sock in sockets:
            sock.sendall(b"x")
    finally:
        stop.set()
        sender.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_a_body_declared_over_the_limit_is_refused_by_nginx_before_it_is_sent(api, web_url):
    # The default limit (2 GiB) and then some: only the head is sent.
    declared = 3 * 1024**3
    with _connect(web_url) as sock:
        sock.sendall(_request_head(web_url, api.headers(), declared))
        sock.settimeout(10)
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert status_line.split()[1] == "413", received
    assert headers["Server"] == "nginx", headers  # nginx's answer, not Django's
    assert headers["Content-Type"] == "application/json", headers
    assert json.loads(payload) == {"error": "The file is larger than the 2 GiB upload limit."}


def test_only_nginx_publishes_a_port(compose_project):
    published = {
        item["Config"]["Labels"]["com.docker.compose.service"]
        for item in compose_project.states().values()
        for bindings in (item["NetworkSettings"]["Ports"] or {}).values()
        if bindings
    }
    assert published == {"nginx", "seaweedfs"}, published


LOGIN_FAILURE_LIMIT = 10  # the default (.env.example); the test's .env leaves it


def test_a_client_written_forwarded_for_does_not_reset_a_limit(compose_project, web_url):
    # nginx writes X-Forwarded-For itself and the web believes exactly that
    # one hop (WEB_TRUSTED_PROXIES=1), so a header the client writes, new
    # each time, with a new username each time, is still one address. Issue
    # 23: a new header was a new address, and reset the limits.
    def wrong_login(n: int) -> requests.Response:
        return requests.post(
            f"{web_url}/api/auth/token/",
            data={"username": f"nobody-{n}", "password": "wrong"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            timeout=30,
        )

    try:
        answers = [wrong_login(n).status_code for n in range(LOGIN_FAILURE_LIMIT)]
        # The last failure allowed locks the address out.
        assert answers == [400] * (LOGIN_FAILURE_LIMIT - 1) + [429], answers
        refused = wrong_login(200)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 900
        assert refused.json()["error"].startswith("Too many failed logins. Try again in ")
    finally:
        # The tests after this one log in from the same address.
        compose_project.compose("exec", "-T", "web", "python", "manage.py", "axes_reset")
