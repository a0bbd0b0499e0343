"""A store write that SIGTERM interrupts is over before SystemExit goes on (interrupts.py).

Otherwise the request lands after the attempt has deleted its objects
(pipeline.py): seen when a host cut from the network mid-job got its link
back (tests/multihost/test_healed_partition.py). Here the write is held on
a TCP line while SIGTERM arrives, and the line is released later.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from transcoder.live import LadderPublisher
from transcoder.objectstore import MIB, store_connect

from .seaweed import SeaweedStore
from .support import keys_under, make_settings

SIGTERM_AFTER = 0.5
RELEASED_AFTER = 2.0
LARGE_BYTES = 9 * MIB


@pytest.fixture
def prefix() -> str:
    return f"outputs/interrupted-{os.urandom(4).hex()}/"


@pytest.fixture
def line(seaweed: SeaweedStore) -> Iterator[HeldLine]:
    held = HeldLine(seaweed.endpoint_url)
    yield held
    held.close()


def _sigterm_then_release(line: HeldLine) -> float:
    """SIGTERM while the request is held; the link comes back later. Returns the start."""
    threading.Timer(SIGTERM_AFTER, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    threading.Timer(RELEASED_AFTER, line.released.set).start()
    return time.monotonic()


@pytest.mark.parametrize("write", ["output_put", "output_upload", "json_create"])
def test_a_write_from_the_main_thread_lands_before_systemexit_goes_on(
    write: str,
    seaweed: SeaweedStore,
    line: HeldLine,
    scratch_dir: Path,
    prefix: str,
    tmp_path: Path,
) -> None:
    store = store_connect(settings=make_settings(seaweed, scratch_dir, S3_ENDPOINT_URL=line.url))
    key = f"{prefix}interrupted.m3u8"
    # Above the multipart threshold: output_upload's managed transfer, whose
    # parts run on s3transfer's threads (a smaller file is one output_put).
    (tmp_path / "body").write_bytes(b"v" * LARGE_BYTES)
    calls: dict[str, tuple[Callable[[], object], int]] = {
        "output_put": (
            lambda: store.output_put(key=key, body=b"#EXTM3U\n", content_type="x/y"),
            8,
        ),
        "output_upload": (
            lambda: store.output_upload(path=tmp_path / "body", key=key, content_type="x/y"),
            LARGE_BYTES,
        ),
        "json_create": (lambda: store.json_create(key=key, body=b"{}"), 2),
    }
    call, size = calls[write]
    started = _sigterm_then_release(line)
    with sigterm_raising_system_exit(), pytest.raises(SystemExit):
        call()
    # The request was over when SystemExit went on: here, landed.
    assert time.monotonic() - started >= RELEASED_AFTER
    assert keys_under(seaweed, prefix) == {key: size}


def test_the_ladder_publisher_has_ended_when_systemexit_leaves_its_block(
    seaweed: SeaweedStore, line: HeldLine, scratch_dir: Path, prefix: str, tmp_path: Path
) -> None:
    """SIGTERM while watching() waits for its thread, whose upload is held."""
    folder = tmp_path / "hls"
    (folder / "360p").mkdir(parents=True)
    (folder / "360p" / "init_0.mp4").write_bytes(b"init")
    (folder / "360p" / "seg_00001.m4s").write_bytes(b"segment")
    (folder / "360p" / "index.m3u8").write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
        '#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:1.000000,\nseg_00001.m4s\n'
    )
    store = store_connect(settings=make_settings(seaweed, scratch_dir, S3_ENDPOINT_URL=line.url))
    publisher = LadderPublisher(store=store, prefix=prefix, on_preview=lambda preview: None)

    def watch_until_sigterm() -> None:
        with publisher.watching(folder=folder, rungs=["360p"], duration=1.0):
            assert line.reached.wait(10), "the publisher's first upload never started"
            _sigterm_then_release(line)

    with sigterm_raising_system_exit(), pytest.raises(SystemExit):
        watch_until_sigterm()
    assert [t for t in threading.enumerate() if t.name == "ladder-publisher"] == []
    assert f"{prefix}hls/360p/init.mp4" in keys_under(seaweed, prefix)


class HeldLine:
    """A TCP line to the store that carries nothing toward it until released.

    What a cut link does to a request in flight: its bytes wait, and reach
    the store once the link is back. `reached` is set when the first of
    them arrives.
    """

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.reached = threading.Event()
        self.released = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                for source, target, held in ((client, server, True), (server, client, False)):
                    threading.Thread(
                        target=self._carry, args=(source, target, held), daemon=True
                    ).start()

    def _carry(self, source: socket.socket, target: socket.socket, held: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if held:
                    self.reached.set()
                    self.released.wait()
                target.sendall(data)

    def close(self) -> None:
        self.released.set()
        self._listener.close()


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(signum)


@contextlib.contextmanager
def sigterm_raising_system_exit() -> Iterator[None]:
    """In the block SIGTERM raises SystemExit, as billiard's handler does in a pool process."""
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
