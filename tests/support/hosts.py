"""Pretend hosts on one machine: a network namespace, a hostname, a private view of files.

`host_running` makes a Linux network namespace joined to the root namespace
by a veth pair on a /30 of its own in 10.231.0.0/16 (needs root and `ip`).
The host's processes see only their own loopback and the root side's
address, `gateway`; to reach a server that listens on 127.0.0.1 here, put a
`TcpLine(..., listen_host=host.gateway)` in front of it. `host.argv()` runs
a command inside, with its own hostname (a UTS namespace) and with chosen
folders hidden under empty tmpfs mounts (a mount namespace), so it cannot
read other hosts' files either.

Everything is named with a random token, so suites running side by side do
not collide, and is removed by those names only, however the block ends.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

NETWORK = ipaddress.ip_network("10.231.0.0/16")
SUBNETS = list(NETWORK.subnets(new_prefix=30))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30)


@dataclass(frozen=True)
class Host:
    name: str  # its hostname
    namespace: str  # the network namespace
    outer_link: str  # veth end in the root namespace
    inner_link: str  # veth end inside the host
    gateway: str  # address of `outer_link`: where this host reaches our lines
    address: str  # the host's own address, on `inner_link`

    def argv(self, command: Sequence[str], *, hidden: Sequence[Path] = ()) -> list[str]:
        """`command` run as this host: its network, its hostname, `hidden` folders empty."""
        mounts = "".join(
            f"mount -t tmpfs -o ro,size=4k tmpfs {shlex.quote(str(p))} && " for p in hidden
        )
        script = f'hostname {shlex.quote(self.name)} && {mounts}exec "$@"'
        # `ip netns exec` and `unshare` (no --fork) both exec, so the pid we
        # start is the command's own, and its process group is the command's.
        return [
            "ip", "netns", "exec", self.namespace,
            "unshare", "--uts", "--mount",
            "sh", "-c", script, "sh", *command,
        ]  # fmt: skip

    def link_down(self) -> None:
        """Pull the host's cable: packets stop both ways, with no FIN or RST sent."""
        _ip("-n", self.namespace, "link", "set", self.inner_link, "down")

    def link_up(self) -> None:
        _ip("-n", self.namespace, "link", "set", self.inner_link, "up")


def _subnets_in_use() -> set[ipaddress.IPv4Network]:
    used = set()
    for line in _ip("-o", "-4", "addr", "show").stdout.splitlines():
        interface = ipaddress.ip_interface(line.split()[3])
        if interface.ip in NETWORK:
            used.add(ipaddress.ip_network(f"{interface.ip}/30", strict=False))
    return used


def _remove(host_namespace: str, outer_link: str) -> None:
    # Deleting the namespace deletes its veth end, and with it the pair; the
    # explicit delete covers a namespace that was never made.
    _ip("netns", "delete", host_namespace, check=False)
    _ip("link", "delete", outer_link, check=False)


@contextlib.contextmanager
def host_running(name: str) -> Iterator[Host]:
    """A new host named `name` (plus a random token) for the block; removed afterwards.

    Stop the processes started in it before the block ends: a namespace a
    process still uses outlives its name.
    """
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise RuntimeError("pretend hosts need root and iproute2's `ip` (namespaces, veth pairs)")
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
    )
    try:
        _ip("netns", "add", host.namespace)
        _ip("link", "add", host.outer_link, "type", "veth", "peer", "name", host.inner_link,
            "netns", host.namespace)  # fmt: skip
        _ip("addr", "add", f"{gateway}/30", "dev", host.outer_link)
        _ip("link", "set", host.outer_link, "up")
        _ip("-n", host.namespace, "addr", "add", f"{address}/30", "dev", host.inner_link)
        _ip("-n", host.namespace, "link", "set", host.inner_link, "up")
        _ip("-n", host.namespace, "link", "set", "lo", "up")
        yield host
    finally:
        _remove(host.namespace, host.outer_link)
