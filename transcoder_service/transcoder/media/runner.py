"""The one place ffmpeg and ffprobe run.

`run_ffmpeg` starts the command built by commands.py, turns ffmpeg's
`-progress` output into percentages, and makes sure that ffmpeg never
outlives the job that started it; `run_probe` does the same for ffprobe,
with a timeout of its own. Both:

- any exception while it runs (a time limit, SystemExit from SIGTERM, a
  failing progress callback) kills and reaps it in a `finally`;
- if the Celery pool process itself is SIGKILLed, no Python code runs at all,
  so the kernel does it: ffmpeg is started with PR_SET_PDEATHSIG=SIGKILL;
- a crafted file cannot make them take the host's memory: each gets an
  address-space limit (RLIMIT_AS), so an allocation past it fails inside
  ffmpeg, which exits with an error, instead of waking the OOM killer.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

import ffmpeg

from transcoder.errors import TranscodeFailed

logger = logging.getLogger(__name__)

PercentCallback = Callable[[int], None]

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1
# Looked up once here: the lookup allocates, and the code between fork() and
# exec() in _child_setup should do as little as possible.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None

# How much of ffmpeg's stderr a failure message quotes.
_STDERR_TAIL_CHARS = 300


@dataclass(frozen=True, kw_only=True)
class ProcessLimits:
    """What every ffmpeg and ffprobe of a job runs under (from Settings)."""

    nice: int
    memory_limit_bytes: int
    probe_timeout: float
    # The largest frame (width x height) a decoder may allocate (-max_pixels).
    max_pixels: int


@dataclass(frozen=True, kw_only=True)
class ProbeOutput:
    returncode: int
    stdout: bytes
    stderr: str


def run_ffmpeg(
    stream: ffmpeg.nodes.OutputStream,
    *,
    duration: float,
    on_progress: PercentCallback,
    job_id: str,
    limits: ProcessLimits,
) -> None:
    """Run ffmpeg to completion; raise `TranscodeFailed` if it fails.

    `duration` is the probed source duration in seconds: ffmpeg reports how
    far it got in output time, and the ratio of the two is the percentage.
    `on_progress` receives each new percentage (0-100, never decreasing).
    """
    argv = ffmpeg.compile(stream)
    parent_pid = os.getpid()
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            # A file, not a pipe: nobody reads stderr while ffmpeg runs, and a
            # full pipe would block ffmpeg forever.
            stderr=stderr_file,
            # preexec_fn is documented as unsafe with threads in the parent; a
            # Celery prefork pool process runs its task in its only thread.
            preexec_fn=functools.partial(_child_setup, parent_pid=parent_pid, limits=limits),
        )
        # Logged so operators (and the fault tests) can find the process.
        logger.info("ffmpeg pid=%d job=%s", process.pid, job_id)
        try:
            assert process.stdout is not None
            for percent in progress_percentages(process.stdout, duration=duration):
                on_progress(percent)
            returncode = process.wait()
        finally:
            _kill_and_reap(process)
        if returncode != 0:
            raise TranscodeFailed(_failure_message(returncode, stderr_file))


def run_probe(argv: list[str], *, limits: ProcessLimits) -> ProbeOutput:
    """Run ffprobe to completion; `subprocess.TimeoutExpired` past the probe timeout.

    Killed and reaped in `finally` like ffmpeg, so a revoked or timed-out
    job never leaves an ffprobe behind (one reading a stalled file would
    otherwise wait forever).
    """
    parent_pid = os.getpid()
    # Files, not pipes: wait() then needs no reader thread, and a chatty
    # ffprobe cannot block on a full pipe.
    with tempfile.TemporaryFile() as stdout_file, tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout_file,
            stderr=stderr_file,
            preexec_fn=functools.partial(_child_setup, parent_pid=parent_pid, limits=limits),
        )
        logger.debug("ffprobe pid=%d", process.pid)
        try:
            returncode = _exit_wait(process, timeout=limits.probe_timeout)
        finally:
            _kill_and_reap(process)
        stdout_file.seek(0)
        stderr_file.seek(0)
        return ProbeOutput(
            returncode=returncode,
            stdout=stdout_file.read(),
            stderr=stderr_file.read().decode("utf-8", "replace"),
        )


def _exit_wait(process: subprocess.Popen[bytes], *, timeout: float) -> int:
    """`process.wait(timeout)`, but returning as soon as the process exits.

    Popen.wait with a timeout polls, sleeping 0.5 ms, then twice as long each
    time up to 50 ms: a 70 ms ffprobe was seen 50 ms late, on every probe and
    verify of every job (bench/results.md, section 1). A pidfd becomes
    readable the moment the process exits (Linux 5.3+).
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # another kernel or OS: the polling wait
        return process.wait(timeout=timeout)
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if not readable:
        raise subprocess.TimeoutExpired(process.args, timeout)
    return process.wait()


def progress_percentages(lines: Iterable[bytes], *, duration: float) -> Iterable[int]:
    """Yield a rising percentage for each block of ffmpeg's `-progress` output.

    ffmpeg writes blocks of key=value lines, each ending with
    `progress=continue` or, once at the very end, `progress=end`.
    """
    total_us = max(duration, 0.001) * 1_000_000
    last = -1
    out_time_us: int | None = None
    for raw in lines:
        key, _, value = raw.decode("ascii", "replace").strip().partition("=")
        if key in ("out_time_us", "out_time_ms"):
            # Both hold the same number of microseconds: out_time_ms is
            # misnamed (an old ffmpeg bug kept for compatibility), and ffmpeg
            # before 4.2 writes only that one. Both read "N/A" until the
            # first frame is written.
            if value.lstrip("-").isdigit():
                out_time_us = max(int(value), 0)
        elif key == "progress":
            if value == "end":
                percent = 100
            elif out_time_us is None:
                continue
            else:
                # Capped at 99: only "progress=end" means done.
                percent = min(int(out_time_us * 100 / total_us), 99)
            if percent > last:
                last = percent
                yield percent


def _child_setup(*, parent_pid: int, limits: ProcessLimits) -> None:
    """Runs in the forked child just before exec()ing ffmpeg or ffprobe."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # If the parent died between fork() and prctl(), the signal will never
        # come (we were already re-parented); don't start an orphan ffmpeg.
        if os.getppid() != parent_pid:
            os._exit(1)
    # Transcoding is a background job: let web requests on the same host win.
    os.nice(limits.nice)
    limit = limits.memory_limit_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _kill_and_reap(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        args = process.args
        program = args[0] if isinstance(args, list | tuple) else args
        logger.warning("killing %s pid=%d", os.path.basename(str(program)), process.pid)
        process.kill()
    # wait() after kill() returns at once; it removes the zombie.
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _failure_message(returncode: int, stderr_file: IO[bytes]) -> str:
    if returncode < 0:
        # Someone else killed it: the kernel's OOM killer, or an operator.
        return f"ffmpeg was stopped by signal {-returncode} before it finished."
    stderr_file.seek(0, os.SEEK_END)
    stderr_file.seek(max(0, stderr_file.tell() - 4096))
    lines = stderr_file.read().decode("utf-8", "replace").strip().splitlines()
    tail = " ".join(line.strip() for line in lines[-3:])[-_STDERR_TAIL_CHARS:]
    reason = f": {tail}" if tail else ""
    return f"ffmpeg could not convert the video (exit status {returncode}){reason}"
