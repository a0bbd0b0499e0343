"""Processes as the kernel sees them (/proc), and the runner's "ffmpeg pid=" line.

Tests read /proc rather than trust the code under test to say what it
started: a leaked ffmpeg or a zombie shows up here whatever the code thinks.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

# transcoder/media/runner.py logs "ffmpeg pid=<pid> job=<job_id>" as each ffmpeg starts.
FFMPEG_PID_LINE = re.compile(r"ffmpeg pid=(\d+) job=(\S+)")


def ffmpeg_pid_pattern(*, job_id: str) -> re.Pattern[str]:
    """The pid line of one job's ffmpeg; group 1 is the pid."""
    return re.compile(rf"ffmpeg pid=(\d+) job={re.escape(job_id)}\b")


def process_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, ...

    Raises OSError once the process is gone.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name sits in parentheses and may itself hold spaces or ")".
    return stat[stat.rindex(")") + 2 :].split()


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for its reaper counts as gone."""
    try:
        return process_stat(pid)[0] != "Z"
    except FileNotFoundError:
        return False


def process_children(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = process_stat(int(entry.name))[:2]
        except OSError:  # exited meanwhile
            continue
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def process_children_named(*, name: str, parent: int | None = None) -> list[int]:
    """The live children of `parent` (this test process by default) running `name`."""
    found = []
    for child in process_children(parent if parent is not None else os.getpid()):
        with contextlib.suppress(OSError):  # exited meanwhile
            if Path(f"/proc/{child}/comm").read_text().strip() == name:
                found.append(child)
    return found
