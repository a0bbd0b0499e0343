"""Pretend hosts on one machine: a network namespace, a hostname, a private view of files.

`host_running` makes a Linux network namespace joined by a veth pair, on a
/30 of its own in 10.231.0.0/16, to the root namespace (needs root, and
iproute2's `ip` and `tc`). The host's processes see only their own loopback and the far end's
address, `gateway`.

With `behind_lines=True` the far end is not the root namespace but a "wire"
namespace of the host's own, where nothing listens but the lines
`host.line_to(url)` makes: TCP forwarders (tests/support/tcp_line.py,
TcpLine) whose listening socket lives in the wire namespace and whose
upstream is the root namespace's loopback. Such a host reaches nothing of
this machine, not even a server on 0.0.0.0, except through its lines, as a
machine elsewhere on a network would. Without it (a store host that the
root namespace must reach at `host.address`), a server listening on
0.0.0.0 here is reachable from the host at `gateway`.

`host.argv()` runs a command inside, with its own hostname (a UTS
namespace) and, given `reads` or `writes`, its own processes (a PID
namespace) and its own root: the operating system read-only (/usr, /etc),
an empty /tmp, `reads` read-only, `writes` writable, and nothing else of
this machine's files.

Everything is named with a random token, so suites running side by side do
not collide, and is removed by those names only, however the block ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.tcp_line import TcpLine

NETWORK = ipaddress.ip_network("10.231.0.0/16")
SUBNETS = list(NETWORK.subnets(new_prefix=30))
# What a host with a root of its own sees of this machine: its operating
# system, read-only. The merged-/usr links (/bin -> usr/bin, ...) are copied.
SYSTEM_FOLDERS = ("/usr", "/etc")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib64")

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
# The test process's own network namespace, held open: a line's threads go
# back to it to reach the servers on loopback.
_ROOT_NAMESPACE = os.open("/proc/thread-self/ns/net", os.O_RDONLY)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30)


def _tc(*args: str) -> None:
    subprocess.run(["tc", *args], check=True, capture_output=True, timeout=30)


def _thread_namespace_set(fd: int) -> None:
    """Move the calling thread (only it) into the network namespace of `fd`."""
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def _namespace_entered(namespace: str) -> Iterator[None]:
    """The calling thread in network namespace `namespace` for the block (sockets made
    there stay there), and back in the root namespace afterwards."""
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _thread_namespace_set(fd)
        try:
            yield
        finally:
            _thread_namespace_set(_ROOT_NAMESPACE)
    finally:
        os.close(fd)


class _WireLine(TcpLine):
    """A TcpLine listening in a wire namespace, forwarding to the root namespace."""

    def __init__(self, upstream: tuple[str, int], listen_host: str, *, wire: str) -> None:
        self.wire = wire
        with _namespace_entered(wire):  # __init__ binds a socket to choose the port
            super().__init__(upstream, listen_host)

    def open(self) -> None:
        with _namespace_entered(self.wire):
            super().open()

    def _accept(self, listener) -> None:
        # open() started this thread inside the wire namespace, and a thread
        # inherits its creator's; the upstream is on the root's loopback.
        _thread_namespace_set(_ROOT_NAMESPACE)
        super()._accept(listener)


@dataclass(frozen=True)
class Host:
    name: str  # its hostname
    namespace: str  # the network namespace
    outer_link: str  # veth end at the far side: the root namespace, or `wire`
    inner_link: str  # veth end inside the host
    gateway: str  # address of `outer_link`: where this host reaches our lines
    address: str  # the host's own address, on `inner_link`
    wire: str | None = None  # the far side's namespace, when behind lines only

    def argv(
        self,
        command: Sequence[str],
        *,
        reads: Sequence[Path] | None = None,
        writes: Sequence[Path] = (),
    ) -> list[str]:
        """`command` run as this host: its network, hostname and processes; its own root
        (the system, `reads`, `writes`) when either is given, else this machine's files."""
        steps = [f"hostname {shlex.quote(self.name)}"]
        namespaces = ["--uts", "--mount"]
        run = "exec"
        if reads is not None or writes:
            steps += _root_steps(reads or (), writes)
            # chroot starts in /: go back to the folder we were started in, if seen.
            run = 'exec chroot /mnt sh -c \'cd "$0" 2>/dev/null || cd /; exec "$@"\' "$PWD"'
            # Its own processes too, or /proc would show every process's
            # environment. unshare forks the command as the host's pid 1, in
            # the same process group: stopping the group stops the host.
            namespaces += ["--pid", "--fork"]
        script = " && ".join([*steps, f'{run} "$@"'])
        return [
            "ip", "netns", "exec", self.namespace, "unshare", *namespaces,
            "sh", "-c", script, "sh", *command,
        ]  # fmt: skip

    def line_to(self, url: str) -> TcpLine:
        """A line (not yet open) from this host's `gateway` to the server of `url`."""
        upstream = TcpLine.to(url).upstream
        if self.wire is None:
            return TcpLine(upstream, listen_host=self.gateway)
        return _WireLine(upstream, self.gateway, wire=self.wire)

    def _link_ends(self) -> list[tuple[list[str], str]]:
        """Each end of the cable: `ip`/`tc` options naming its namespace, and its device."""
        far = ["-n", self.wire] if self.wire else []
        return [(far, self.outer_link), (["-n", self.namespace], self.inner_link)]

    def link_down(self) -> None:
        """Cut the cable: packets stop both ways, with no FIN or RST.

        Each end's queue drops every packet (a `pfifo` of length 0), and
        both interfaces stay up, as they do when a switch or a link further
        away fails. Taking an interface down instead tells the host's kernel
        at once (its routes go, and its worker drops the broker within a
        second), which a real partition does not: here only missed
        heartbeats give the cut away.
        """
        for namespace, device in self._link_ends():
            _tc(*namespace, "qdisc", "add", "dev", device, "root", "pfifo", "limit", "0")

    def link_up(self) -> None:
        for namespace, device in self._link_ends():
            _tc(*namespace, "qdisc", "del", "dev", device, "root")


def _root_steps(reads: Sequence[Path], writes: Sequence[Path]) -> list[str]:
    """Shell steps that build the host's root at /mnt (in its own mount namespace)."""
    q = shlex.quote
    steps = ["mount -t tmpfs -o size=1m,mode=755 tmpfs /mnt"]
    for folder in SYSTEM_FOLDERS:
        steps.append(f"mkdir -p /mnt{folder} && mount -o bind,ro {folder} /mnt{folder}")
    for link in SYSTEM_LINKS:
        path = Path(link)
        if path.is_symlink():
            steps.append(f"ln -s {q(os.readlink(path))} /mnt{link}")
        elif path.is_dir():
            steps.append(f"mkdir -p /mnt{link} && mount -o bind,ro {link} /mnt{link}")
    steps += [
        # Devices, with a /dev/shm of its own (Python's semaphores live there).
        "mkdir /mnt/dev && mount --rbind /dev /mnt/dev",
        "mount -t tmpfs -o size=64m tmpfs /mnt/dev/shm",
        # The host's processes only: this command is pid 1 of a PID namespace.
        "mkdir /mnt/proc && mount -t proc proc /mnt/proc",
        "mkdir -m 1777 /mnt/tmp && mount -t tmpfs -o size=64m tmpfs /mnt/tmp",
    ]
    for folder, options in [*((p, "bind,ro") for p in reads), *((p, "bind") for p in writes)]:
        target = q(f"/mnt{folder}")
        steps.append(f"mkdir -p {target} && mount -o {options} {q(str(folder))} {target}")
    return steps


def _subnets_in_use() -> set[ipaddress.IPv4Network]:
    used = set()
    for line in _ip("-o", "-4", "addr", "show").stdout.splitlines():
        interface = ipaddress.ip_interface(line.split()[3])
        if interface.ip in NETWORK:
            used.add(ipaddress.ip_network(f"{interface.ip}/30", strict=False))
    return used


def _remove(host: Host) -> None:
    # Deleting a namespace deletes its veth end, and with it the pair; the
    # explicit delete covers a namespace that was never made.
    _ip("netns", "delete", host.namespace, check=False)
    if host.wire is not None:
        _ip("netns", "delete", host.wire, check=False)
    else:
        _ip("link", "delete", host.outer_link, check=False)


@contextlib.contextmanager
def host_running(name: str, *, behind_lines: bool = False) -> Iterator[Host]:
    """A new host named `name` (plus a random token) for the block; removed afterwards.

    `behind_lines`: the host reaches this machine only through `host.line_to`
    lines, and this machine cannot reach `host.address`.

    Stop the processes started in it before the block ends: a namespace a
    process still uses outlives its name.
    """
    if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("tc")):
        raise RuntimeError("pretend hosts need root, and iproute2's `ip` and `tc`")
    token = secrets.token_hex(3)
    used = _subnets_in_use()
    subnet = secrets.choice([s for s in SUBNETS if s not in used])
    gateway, address = (str(a) for a in list(subnet.hosts())[:2])
    host = Host(
        name=f"{name}-{token}",
        namespace=f"mh-{token}-{name}",
        outer_link=f"mh{token}o",  # interface names are at most 15 characters
        inner_link=f"mh{token}i",
        gateway=gateway,
        address=address,
        wire=f"mh-{token}-{name}-wire" if behind_lines else None,
    )
    far: list[str] = []
    try:
        _ip("netns", "add", host.namespace)
        if host.wire is not None:
            _ip("netns", "add", host.wire)
            far = ["-n", host.wire]
        _ip(*far, "link", "add", host.outer_link, "type", "veth", "peer", "name", host.inner_link,
            "netns", host.namespace)  # fmt: skip
        _ip(*far, "addr", "add", f"{gateway}/30", "dev", host.outer_link)
        _ip(*far, "link", "set", host.outer_link, "up")
        _ip("-n", host.namespace, "addr", "add", f"{address}/30", "dev", host.inner_link)
        _ip("-n", host.namespace, "link", "set", host.inner_link, "up")
        _ip("-n", host.namespace, "link", "set", "lo", "up")
        yield host
    finally:
        _remove(host)
