"""The store `make run` embeds (bin/embedded_store.py), attacked as another local account would.

Started exactly as bin/run starts it (`EmbeddedStore`), then every TCP port
and unix socket its weed process listens on is found from /proc and sent the
unsigned gRPC calls that give an Admin identity or delete an object
(tests/support/weed_grpc.py, issue 23 holes 1 and 12). The filer's and the
volume's HTTP ports are sent unsigned reads and writes. A refusal is judged
by what the store then holds, not by the answer alone.
"""

from __future__ import annotations

import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from botocore.exceptions import ClientError

from bin.embedded_store import EmbeddedStore, credentials, free_port_pair
from tests.support import weed_grpc
from tests.support.object_store import WEED, s3_client

BUCKET = "videos"
VICTIM = "sources/someone-elses-video"
INTRUDER = ("intruder-key", "intruder-secret")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    folder = tmp_path_factory.mktemp("s3")
    folder.chmod(0o700)  # as bin/run makes it
    running = EmbeddedStore(
        folder=folder, bucket=BUCKET, s3_port=free_port_pair(), keys=credentials(folder)
    )
    running.start(str(WEED))
    try:
        running.wait_ready()
        client(running, "web").put_object(Bucket=BUCKET, Key=VICTIM, Body=b"private")
        yield running
    finally:
        running.stop()


def client(store: EmbeddedStore, role: str):
    keys = store.keys[role]
    return s3_client(store.endpoint_url, keys["accessKey"], keys["secretKey"])


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except FileNotFoundError:
            continue  # closed since the listing: a short-lived connection, no listener
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match.group(1))
    return inodes


def listeners(pid: int) -> list[str]:
    """Every TCP port and unix socket `pid` listens on, as gRPC targets."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                found.append(f"127.0.0.1:{int(local.rsplit(':', 1)[1], 16)}")
    for line in Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[6] in inodes and fields[3] == "00010000":  # listening
            found.append(f"unix:{fields[7]}")
    return sorted(found)


def http_port(store: EmbeddedStore, component: str) -> int:
    """A component's HTTP port, from weed's own command line."""
    assert store.process is not None
    argv = Path(f"/proc/{store.process.pid}/cmdline").read_bytes().decode().split("\0")
    (port,) = (arg.split("=")[1] for arg in argv if arg.startswith(f"-{component}.port="))
    return int(port)


def test_no_port_or_socket_takes_an_unsigned_call_for_an_admin_identity_or_a_deletion(
    store: EmbeddedStore,
):
    assert store.process is not None
    targets = listeners(store.process.pid)
    grpc_port = store.s3_port + 10000
    # The attack's own targets are among them: S3's gRPC port and its socket.
    assert f"127.0.0.1:{grpc_port}" in targets
    assert f"unix:/tmp/seaweedfs-s3-grpc-{grpc_port}.sock" in targets

    answers = {
        target: weed_grpc.attack(
            target,
            access_key=INTRUDER[0],
            secret_key=INTRUDER[1],
            bucket=BUCKET,
            key=VICTIM,
            timeout=5,
        )
        for target in targets
    }

    accepted = [
        f"{name} on {target}"
        for target, calls in answers.items()
        for name, answer in calls.items()
        if answer.ok
    ]
    assert accepted == [], "unsigned calls carried out"
    # The intruder's keys open nothing, and the victim's object is still there.
    intruder = s3_client(store.endpoint_url, *INTRUDER)
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        intruder.list_objects_v2(Bucket=BUCKET)
    web = client(store, "web")
    assert web.get_object(Bucket=BUCKET, Key=VICTIM)["Body"].read() == b"private"


def test_the_iam_service_wants_a_token_even_over_the_stores_own_tls(store: EmbeddedStore):
    """Two locks, not one: past mutual TLS, the JWT of [jwt.filer_signing] still guards it."""
    tls = store.folder / "tls"
    own = grpc.ssl_channel_credentials(
        root_certificates=(tls / "ca.pem").read_bytes(),
        private_key=(tls / "store.key").read_bytes(),
        certificate_chain=(tls / "store.pem").read_bytes(),
    )
    answer = weed_grpc.unsigned_call(
        f"127.0.0.1:{store.s3_port + 10000}",
        weed_grpc.PUT_IDENTITY,
        weed_grpc.put_identity_request("intruder", *INTRUDER),
        credentials=own,
    )
    assert (answer.code, answer.details) == ("UNAUTHENTICATED", "missing authorization metadata")


def test_the_filer_and_volume_http_ports_refuse_unsigned_reads_and_writes(store: EmbeddedStore):
    filer = f"http://127.0.0.1:{http_port(store, 'filer')}"
    refused = {
        "filer read": requests.get(f"{filer}/buckets/{BUCKET}/{VICTIM}", timeout=10),
        "filer listing": requests.get(f"{filer}/buckets/{BUCKET}/sources/", timeout=10),
        "filer write": requests.put(
            f"{filer}/buckets/{BUCKET}/sources/planted", data=b"x", timeout=10
        ),
    }
    # The master hands out a file id for the volume, but no token with it.
    assigned = requests.get(f"http://127.0.0.1:{http_port(store, 'master')}/dir/assign", timeout=10)
    volume = f"http://{assigned.json()['url']}/{assigned.json()['fid']}"
    assert "auth" not in assigned.json()
    refused["volume write"] = requests.post(volume, files={"file": ("x", b"x")}, timeout=10)
    refused["volume read"] = requests.get(volume, timeout=10)

    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(
        refused, 401
    )
    assert "private" not in "".join(answer.text for answer in refused.values())
    listed = client(store, "web").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [item["Key"] for item in listed] == [VICTIM]


def test_the_least_privilege_identities_still_work(store: EmbeddedStore):
    web, transcoder = client(store, "web"), client(store, "transcoder")
    key = f"outputs/{secrets.token_hex(4)}/720p.mp4"
    transcoder.put_object(Bucket=BUCKET, Key=key, Body=b"output")
    assert web.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"output"
    assert transcoder.get_object(Bucket=BUCKET, Key=VICTIM)["Body"].read() == b"private"
    with pytest.raises(ClientError, match="AccessDenied"):
        web.put_object(Bucket=BUCKET, Key=key, Body=b"overwritten")
    transcoder.delete_object(Bucket=BUCKET, Key=key)


def test_its_secrets_are_this_users_alone_and_its_sockets_go_with_it(tmp_path: Path):
    folder = tmp_path / "s3"
    folder.mkdir(mode=0o700)
    store = EmbeddedStore(
        folder=folder, bucket=BUCKET, s3_port=free_port_pair(), keys=credentials(folder)
    )
    store.start(str(WEED))
    try:
        store.wait_ready()
        assert store.process is not None
        sockets = [Path(t.removeprefix("unix:")) for t in listeners(store.process.pid)
                   if t.startswith("unix:")]  # fmt: skip
        assert sockets
        secret = [folder / "security.toml", *(folder / "tls").iterdir()]
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in secret + sockets}
        assert modes == dict.fromkeys(modes, 0o600) | {p.name: 0o700 for p in sockets}
    finally:
        store.stop()
    assert [path for path in sockets if path.exists()] == []
