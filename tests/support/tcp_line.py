"""A TCP line between one test's processes and a server, which the test can cut.

`TcpLine` is a TCP proxy in front of a server (RabbitMQ, the S3 store).
Cutting it looks to the processes behind it exactly like a server that died
(connections reset, new ones refused), while the server itself, and everyone
else using it, carries on. It can also be made slow, made to hang
(connections accepted, nothing ever answered), or made to answer every HTTP
request with an S3 error (500 InternalError, 503 SlowDown). `BrokerLine` is
its old name. The outages at the server itself (a closed database, a stopped
broker) are in tests/support/outages.py.
"""

from __future__ import annotations

import contextlib
import http
import selectors
import socket
import struct
import threading
import time
import urllib.parse

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "http": 80, "https": 443}
# What the line does with bytes: carry them, hold them forever, or (HTTP
# only) answer each request itself with an error.
FORWARD, HANG, HTTP_ERROR = "forward", "hang", "http_error"


class TcpLine:
    """Forwards `listen_host`:`port` to `upstream`, until cut; optionally throttled."""

    def __init__(self, upstream: tuple[str, int], listen_host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.listen_host = listen_host
        with socket.socket() as probe:  # a free port, kept for every reopen
            probe.bind((listen_host, 0))
            self.port: int = probe.getsockname()[1]
        self._lock = threading.Lock()
        self._links: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        # Bandwidth: bytes per second per direction (None: unlimited), and for
        # each direction the moment its bytes so far have "left the wire".
        self._rate: int | None = None
        self._free_at = {True: 0.0, False: 0.0}
        self._mode = FORWARD
        self._error = b""  # the whole HTTP answer, in HTTP_ERROR mode
        # Bytes carried so far toward the server and toward the clients: the
        # proof that a transfer really runs when a fault is brought on.
        self.carried = {"to_server": 0, "to_client": 0}

    @classmethod
    def to(cls, url: str, listen_host: str = "127.0.0.1") -> TcpLine:
        """A line to the host and port of `url` (any scheme; default ports filled in)."""
        parts = urllib.parse.urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 5672)
        return cls((parts.hostname or "127.0.0.1", port), listen_host)

    def url_through(self, url: str) -> str:
        """`url` (credentials, path, query kept) going through this line instead."""
        parts = urllib.parse.urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        netloc = f"{host}:{self.port}"
        return parts._replace(netloc=f"{credentials}@{netloc}" if credentials else netloc).geturl()

    def throttle(self, bytes_per_second: int | None) -> None:
        """From now on, carry at most this many bytes a second each way (None: full speed).

        The budget is the line's, shared by all its connections, as a slow
        link would be; open connections slow down (or speed up) at once.
        """
        assert bytes_per_second is None or bytes_per_second > 0, bytes_per_second
        with self._lock:
            self._rate = bytes_per_second
            now = time.monotonic()
            self._free_at = {True: now, False: now}

    def hang(self) -> None:
        """From now on, accept connections and never answer; open ones stall too.

        A store (or its load balancer) that is alive enough for TCP and
        nothing more: only the client's own timeouts can end its requests.
        """
        self._mode = HANG

    def http_error(self, status: int, code: str) -> None:
        """From now on, answer every HTTP request with this S3 error, e.g. 503 SlowDown.

        Open connections are reset first, so no request slips through a
        connection a client kept alive from before.
        """
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{code} (the test's line)</Message>"
            "<RequestId>tcpline</RequestId></Error>"
        ).encode()
        self._error = (
            f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
            "Content-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + body
        self._mode = HTTP_ERROR
        self._links_reset()

    def forward(self) -> None:
        """Carry bytes again after `hang` or `http_error`.

        Connections held while it hung are reset: a store that never answered
        them does not answer them late either (a SIGSTOPped one would; see
        the fault suite).
        """
        self._mode = FORWARD
        self._links_reset()

    def open(self) -> None:
        """Accept connections again (on the same port)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.listen_host, self.port))
        listener.listen(64)
        # A timeout, so the accept loop notices `cut` within a fraction of a second.
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and reset every open one, as a crashed server would."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown first: close() alone leaves the socket listening until the
            # accept thread's pending accept() returns.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self._links_reset()

    def _links_reset(self) -> None:
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
            if self._mode == HANG:
                with self._lock:  # held, unanswered, until `forward` or `cut` resets it
                    self._links.add(client)
                continue
            if self._mode == HTTP_ERROR:
                threading.Thread(target=self._answer_error, args=(client,), daemon=True).start()
                continue
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

    def _pace(self, outbound: bool, size: int) -> None:
        """Sleep until `size` more bytes fit the bandwidth of their direction."""
        with self._lock:
            rate = self._rate
            if rate is None:
                return
            now = time.monotonic()
            done = max(now, self._free_at[outbound]) + size / rate
            self._free_at[outbound] = done
        time.sleep(max(0.0, done - now))

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        open_ends = 2
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while open_ends:
                    if self._mode == HANG:  # hold the bytes, answer nothing
                        time.sleep(0.1)
                        if a not in self._links:  # reset by forward() or cut()
                            return
                        continue
                    for key, _ in selector.select(timeout=0.5):
                        rate = self._rate
                        # Throttled, read chunks of ~1/20 s, so the pace is smooth
                        # and a cut is noticed soon even on a slow line.
                        chunk = 65536 if rate is None else max(512, min(65536, rate // 20))
                        data = key.fileobj.recv(chunk)
                        if not data:
                            # A half-close is passed on: the other side may still answer.
                            selector.unregister(key.fileobj)
                            peer[key.fileobj].shutdown(socket.SHUT_WR)
                            open_ends -= 1
                            continue
                        self._pace(key.fileobj is a, len(data))
                        peer[key.fileobj].sendall(data)
                        direction = "to_server" if key.fileobj is a else "to_client"
                        with self._lock:
                            self.carried[direction] += len(data)
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

    def _answer_error(self, client: socket.socket) -> None:
        """Read one request's head, answer it with the error, and drain what follows.

        The body is read and dropped after the answer, never left unread: a
        close with unread bytes would reset the connection, and the client
        would see a reset instead of the error.
        """
        with client:
            client.settimeout(10)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = client.recv(65536)
                    if not data:
                        return
                    head += data
                answer = self._error
                if head.startswith(b"HEAD "):  # an answer to HEAD has no body
                    answer = answer[: answer.index(b"\r\n\r\n") + 4]
                client.sendall(answer)
                client.shutdown(socket.SHUT_WR)
                while client.recv(65536):
                    pass
            except OSError:
                return


BrokerLine = TcpLine  # the name the fault suite and stack.py have always used
