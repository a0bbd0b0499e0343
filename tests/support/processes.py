"""Start and stop the real service processes for end-to-end and fault tests.

Every process starts in its own session, so its whole tree (gunicorn workers,
Celery pool children, ffmpeg) shares one process group whose id is the PID we
started. Stopping signals that group and nothing else: a test only ever ends
processes it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def descendants(pid: int) -> list[int]:
    """PIDs of every live descendant of `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" that closes the command name: state, ppid, ...
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def ffmpeg_pids(root_pid: int, *, mentioning: str = "") -> list[int]:
    """ffmpeg processes under `root_pid` whose command line contains `mentioning`."""
    found = []
    for pid in descendants(root_pid):
        argv = command_line(pid)
        if argv.split(" ", 1)[0].endswith("ffmpeg") and mentioning in argv:
            found.append(pid)
    return found


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> ManagedProcess:
        assert self.popen is None or self.popen.poll() is not None, f"{self.name} is running"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        log.write(f"\n===== start {' '.join(self.argv)} =====\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after `timeout`."""
        if self.popen is None:
            return
        members = [self.pid, *descendants(self.pid)]
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(p) for p in members):
            if self.popen.poll() is not None and not any(alive(p) for p in members[1:]):
                break
            time.sleep(0.1)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        if self.popen is None:
            return
        members = [self.pid, *descendants(self.pid)]
        self._signal_group(signal.SIGKILL)
        for pid in members:  # children that left the group (none should) go too
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        # SIGKILL is asynchronous: a grandchild (ffmpeg) may still be exiting
        # after its parent is reaped. Return only once every member is gone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in members):
            time.sleep(0.05)
