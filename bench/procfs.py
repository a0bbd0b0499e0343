"""Reading /proc: process trees, memory, CPU time, whole-machine utilisation."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from tests.support.processes import command_line, descendants

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cores() -> int:
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    return total


def cpu_seconds(pids: Sequence[int], *, children: bool = False) -> float:
    """utime+stime of these processes themselves, or (children=True) of their
    waited-for children (cutime+cstime: the worker's finished ffmpeg/ffprobe runs)."""
    total = 0
    first = 13 if children else 11
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[first]) + int(fields[first + 1])
    return total / CLOCK_TICKS


def cpu_snapshot(pids: Sequence[int], *, children: bool = False) -> dict[int, float]:
    return {pid: cpu_seconds([pid], children=children) for pid in pids}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots by the processes alive at both."""
    return sum(after[p] - before[p] for p in after if p in before)


def pids_named(*names: str) -> list[int]:
    """Every process whose command name is one of `names` (e.g. postgres, beam.smp)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def python_pids(root: int) -> list[int]:
    """The processes in `root`'s tree that are not ffmpeg/ffprobe."""
    return [p for p in tree(root) if not command_line(p).startswith(("ffmpeg", "ffprobe"))]


class CpuMeter:
    """Whole-machine CPU utilisation between start() and stop(), from /proc/stat."""

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    def __enter__(self) -> Self:
        self._start = self._read()
        self.busy = float("nan")
        return self

    def __exit__(self, *exc: object) -> None:
        total, idle = self._read()
        d_total, d_idle = total - self._start[0], idle - self._start[1]
        self.busy = 1 - d_idle / d_total if d_total else float("nan")


class Sampler(threading.Thread):
    """Calls `sample()` every `interval` seconds in a thread until stopped."""

    def __init__(self, sample, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self._sample = sample
        self._interval = interval
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self._sample()
            self._halt.wait(self._interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self._sample()
