"""A Docker daemon for the compose suite: the running one, or one started here.

dockerd changes the host: it adds iptables chains and rules (and sets the
FORWARD policy to DROP), sets ip_forward=1 and creates the docker0 bridge.
When this module started the daemon, it stops it afterwards and puts all
three back exactly as they were.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.docker import run

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def _daemon_answers() -> bool:
    return run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False).returncode == 0


@dataclass
class HostNetwork:
    """What dockerd changes on the host: iptables rules, ip_forward, docker0."""

    iptables: str
    ip_forward: str
    docker0: bool

    @classmethod
    def save(cls) -> HostNetwork:
        return cls(
            iptables=run(["iptables-save"]).stdout,
            ip_forward=IP_FORWARD.read_text(),
            docker0=Path("/sys/class/net/docker0").exists(),
        )

    def restore(self) -> None:
        # iptables-restore replaces every table in its input, deleting the
        # chains dockerd added (DOCKER, DOCKER-USER, ...); a table dockerd
        # created that was absent before is flushed back to empty.
        # iptables-nft cannot delete a table, so one that was absent is left
        # empty with ACCEPT policies: the same traffic passes as before.
        before = _tables(self.iptables)
        now = run(["iptables-save"]).stdout
        for table in _tables(now) - before:
            run(["iptables", "-t", table, "-F"])
            run(["iptables", "-t", table, "-X"])
            for chain in _builtin_chains(now, table):
                run(["iptables", "-t", table, "-P", chain, "ACCEPT"])
        if self.iptables.strip():
            run(["iptables-restore"], input=self.iptables)
        IP_FORWARD.write_text(self.ip_forward)
        if not self.docker0 and Path("/sys/class/net/docker0").exists():
            run(["ip", "link", "delete", "docker0"])

    def differences(self) -> list[str]:
        now = HostNetwork.save()
        problems = []
        if _rules(now.iptables) != _rules(self.iptables):
            problems.append(f"iptables differ:\n{now.iptables}\nwas:\n{self.iptables}")
        if now.ip_forward != self.ip_forward:
            problems.append(
                f"ip_forward is {now.ip_forward.strip()}, was {self.ip_forward.strip()}"
            )
        if now.docker0 != self.docker0:
            problems.append(f"docker0 exists: {now.docker0}, before: {self.docker0}")
        return problems


def _tables(dump: str) -> set[str]:
    return {line[1:].strip() for line in dump.splitlines() if line.startswith("*")}


def _builtin_chains(dump: str, table: str) -> list[str]:
    """The chains of `table` that have a policy (the built-in ones)."""
    chains, current = [], None
    for line in dump.splitlines():
        if line.startswith("*"):
            current = line[1:].strip()
        elif current == table and line.startswith(":") and line.split()[1] != "-":
            chains.append(line[1:].split()[0])
    return chains


def _rules(dump: str) -> list[str]:
    """iptables-save without comments, packet counters and tables that are
    empty with every policy ACCEPT (the same as no table), for comparing."""
    tables: dict[str, list[str]] = {}
    current = ""
    for line in dump.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("*"):
            current = line
        tables.setdefault(current, []).append(line.split(" [")[0])
    return [
        line
        for lines in tables.values()
        if not all(
            line.startswith("*")
            or line == "COMMIT"
            or (line.startswith(":") and line.endswith(" ACCEPT"))
            for line in lines
        )
        for line in lines
    ]


@contextmanager
def docker_daemon(log_path: Path) -> Iterator[None]:
    """A dockerd to talk to: the running one, or one started (and stopped) here."""
    if _daemon_answers():
        yield
        return
    if shutil.which("dockerd") is None:
        raise RuntimeError("dockerd is not installed (apt-get install docker.io docker-compose)")
    saved = HostNetwork.save()
    log = open(log_path, "ab")  # noqa: SIM115 - closed in the finally below
    # A session of its own, so a Ctrl-C at the terminal reaches pytest only;
    # dockerd stops its own containerd when it stops.
    daemon = subprocess.Popen(
        ["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not _daemon_answers():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start; see {log_path}")
            time.sleep(0.5)
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
        log.close()
        saved.restore()
        problems = saved.differences()
        assert not problems, "the host's network state was not restored:\n" + "\n".join(problems)
