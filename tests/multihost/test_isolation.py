"""A transcoder host is a machine of its own: its files, its environment, its network.

The other multihost tests rely on this: a worker that could read the web's
database URL, the store's data folder, another host's scratch, or reach a
server of this machine without going through its lines would prove nothing
about a worker on another machine. So each is checked from inside both hosts.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.multihost.system import (
    HOST_NAMES,
    PYTHON,
    TRANSCODER,
    TRANSCODER_HOST_VARIABLES,
    WORKER_READS,
    System,
    Worker,
)
from tests.support.hosts import Host, host_running

# Settings of the web, present in every stack process's environment but a
# transcoder host's.
WEB_ONLY = ("DATABASE_URL", "DJANGO_SECRET_KEY", "WEB_S3_ACCESS_KEY_ID", "WEB_S3_SECRET_ACCESS_KEY")

SEEN = """
import json, os, socket, sys
scratch, shown, others = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
probe = os.path.join(scratch, "probe")
open(probe, "w").write("x")
os.remove(probe)
system = {"/usr", "/etc", "/dev", "/proc", "/bin", "/sbin", "/lib", "/lib64"}
# Every path of the host's root but the system's, not descending into the
# folders it was given to read or write.
seen = []
for folder, subfolders, files in os.walk("/"):
    seen += [os.path.join(folder, name) for name in subfolders + files]
    subfolders[:] = [
        d for d in subfolders if os.path.join(folder, d) not in {*system, *shown}
    ]
seen = [path for path in seen if path not in system]
environments = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        raw = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        continue
    environments[pid] = sorted(v.split(b"=")[0].decode() for v in raw.split(b"\\0") if v)
print(json.dumps({
    "hostname": socket.gethostname(),
    "seen": sorted(seen),
    "others": {path: os.path.exists(path) for path in others},
    "environments": environments,
}))
"""


def _seen_from(worker: Worker, shown: list[Path], others: list[Path]) -> dict:
    argv = [str(PYTHON), "-c", SEEN, str(worker.scratch), json.dumps(list(map(str, shown)))]
    done = subprocess.run(
        [*worker.prefix, *argv, *map(str, others)],
        env=worker.process.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _environment_names(pid: int) -> set[str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return {item.split(b"=")[0].decode() for item in raw.split(b"\0") if item}


def test_a_host_sees_its_own_files_and_a_transcoder_hosts_environment_only(two_hosts: System):
    repo = TRANSCODER.parent
    for worker in two_hosts.workers:
        (other,) = [w for w in two_hosts.workers if w is not worker]
        shown = [*WORKER_READS, worker.scratch]
        hidden = [
            two_hosts.stack.workdir,  # the store's data, every log
            other.scratch,
            repo / "web_service",
            repo / ".env.example",
            Path.home() / ".bash_history",
        ]
        seen = _seen_from(worker, shown, hidden)

        assert seen["hostname"] == worker.host.name
        # Besides the system: an empty /tmp, the folders it was given, and
        # the folders on the way to them. Nothing else of this machine.
        way = {str(p) for folder in shown for p in [folder, *folder.parents] if p != Path("/")}
        assert set(seen["seen"]) == {"/tmp", *way}, sorted(set(seen["seen"]) ^ {"/tmp", *way})
        assert seen["others"] == {str(path): False for path in hidden}
        # Its /proc shows the host's own processes only, none with the web's settings.
        assert seen["environments"], seen
        for names in seen["environments"].values():
            assert not set(names) & set(WEB_ONLY), names
        # The worker itself, read from outside: the transcoder's settings only.
        names = _environment_names(worker.process.pid)
        assert names <= TRANSCODER_HOST_VARIABLES, names - TRANSCODER_HOST_VARIABLES
        assert {"BROKER_URL", "S3_ENDPOINT_URL", "TRANSCODER_S3_SECRET_ACCESS_KEY"} <= names


# ---- the network: nothing of this machine but the lines -------------------------


@pytest.fixture
def service() -> Iterator[int]:
    """A server on 0.0.0.0 of this (the root) namespace that greets whoever connects."""
    server = socket.create_server(("0.0.0.0", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed at teardown
                return
            with client:
                client.sendall(b"hello")

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def hosts() -> Iterator[list[Host]]:
    with ExitStack() as stack:
        yield [stack.enter_context(host_running(n, behind_lines=True)) for n in HOST_NAMES]


def _this_machines_addresses() -> list[str]:
    """Every IPv4 address of the root namespace: loopback, interfaces, bridges."""
    listed = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    return sorted({line.split()[3].split("/")[0] for line in listed.splitlines()})


REACH = """
import socket, sys
port = int(sys.argv[1])
for address in sys.argv[2:]:
    try:
        with socket.create_connection((address, port), timeout=1) as s:
            print(address, s.recv(5).decode() or "connected")
    except OSError as error:
        print(address, type(error).__name__)
"""


def _reached_from(host: Host, port: int, addresses: list[str]) -> dict[str, str]:
    done = subprocess.run(
        host.argv([str(PYTHON), "-c", REACH, str(port), *addresses]),
        capture_output=True,
        text=True,
        timeout=10 + 2 * len(addresses),
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_a_service_on_every_address_is_reached_only_through_a_line(hosts: list[Host], service: int):
    addresses = _this_machines_addresses()
    assert "127.0.0.1" in addresses, addresses
    assert len(addresses) > 1, addresses
    # From here, the service answers on every one of them.
    for address in addresses:
        with socket.create_connection((address, service), timeout=2) as sock:
            assert sock.recv(5) == b"hello", address

    for host in hosts:
        reached = _reached_from(host, service, [*addresses, host.gateway])
        assert "hello" not in reached.values(), (host.name, reached)
        assert set(reached) == {*addresses, host.gateway}

        line = host.line_to(f"tcp://127.0.0.1:{service}")
        line.open()
        try:
            through = _reached_from(host, line.port, [host.gateway])
        finally:
            line.cut()
        assert through == {host.gateway: "hello"}, (host.name, through)
