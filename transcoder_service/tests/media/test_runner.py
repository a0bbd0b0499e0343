from __future__ import annotations

import dataclasses
import logging
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import ffmpeg
import pytest

from transcoder.errors import TranscodeFailed
from transcoder.media.probe import probe_command
from transcoder.media.runner import progress_percentages, run_ffmpeg, run_probe

from ..processes import FFMPEG_PID_LINE, process_alive, process_children_named, process_stat
from ..support import PROCESS_LIMITS, SERVICE_DIR


def lines(text: str) -> list[bytes]:
    return [line.encode() + b"\n" for line in textwrap.dedent(text).strip().splitlines()]


def test_progress_from_out_time_us() -> None:
    output = lines(
        """
        frame=0
        out_time_us=N/A
        progress=continue
        out_time_us=500000
        progress=continue
        out_time_us=1000000
        progress=continue
        out_time_us=1000000
        progress=continue
        out_time_us=2000000
        progress=end
        """
    )
    assert list(progress_percentages(output, duration=2.0)) == [25, 50, 100]


def test_out_time_ms_alone_counts_in_microseconds() -> None:
    # What ffmpeg before 4.2 writes.
    output = lines("out_time_ms=500000\nprogress=continue\nout_time_ms=1500000\nprogress=continue")
    assert list(progress_percentages(output, duration=2.0)) == [25, 75]


def test_progress_never_reaches_100_before_the_end() -> None:
    # ffmpeg's output can run slightly past the probed duration.
    output = lines("out_time_us=2100000\nprogress=continue\nprogress=end")
    assert list(progress_percentages(output, duration=2.0)) == [99, 100]


def test_negative_out_time_counts_as_zero() -> None:
    output = lines("out_time_us=-23220\nprogress=continue")
    assert list(progress_percentages(output, duration=2.0)) == [0]


def lavfi(spec: str) -> ffmpeg.nodes.OutputStream:
    """A command encoding a generated picture to nowhere, with the runner's progress flags."""
    return (
        ffmpeg.input(spec, f="lavfi")
        .output("/dev/null", f="null")
        .global_args("-v", "error", "-nostats", "-progress", "pipe:1")
    )


def logged_pid(caplog: pytest.LogCaptureFixture) -> int:
    for record in caplog.records:
        match = FFMPEG_PID_LINE.fullmatch(record.getMessage())
        if match:
            return int(match.group(1))
    raise AssertionError("no 'ffmpeg pid=' line was logged")


def test_successful_run_reports_progress_and_logs_its_pid(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    seen: list[int] = []
    run_ffmpeg(
        lavfi("testsrc2=size=160x120:rate=25:duration=2"),
        duration=2.0,
        on_progress=seen.append,
        job_id="job-7",
        limits=PROCESS_LIMITS,
    )
    assert seen[-1] == 100
    assert seen == sorted(set(seen))
    assert FFMPEG_PID_LINE.fullmatch(f"ffmpeg pid={logged_pid(caplog)} job=job-7")


def test_failure_quotes_ffmpeg_stderr(tmp_path: Path) -> None:
    stream = (
        ffmpeg.input(str(tmp_path / "missing.mp4"))
        .output("/dev/null", f="null")
        .global_args("-v", "error", "-nostats", "-progress", "pipe:1")
    )
    with pytest.raises(TranscodeFailed) as caught:
        run_ffmpeg(
            stream, duration=1.0, on_progress=lambda p: None, job_id="j", limits=PROCESS_LIMITS
        )
    message = caught.value.message
    assert message.startswith("ffmpeg could not convert the video (exit status 1): ")
    assert "No such file or directory" in message


def test_exception_during_run_kills_and_reaps_ffmpeg(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    niceness: list[int] = []

    def interrupt(percent: int) -> None:
        # Stands in for SoftTimeLimitExceeded or SystemExit arriving mid-run.
        niceness.append(int(process_stat(logged_pid(caplog))[16]))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        # No duration: this input never ends on its own.
        run_ffmpeg(
            lavfi("testsrc2=size=160x120:rate=25"),
            duration=3600.0,
            on_progress=interrupt,
            job_id="j",
            limits=dataclasses.replace(PROCESS_LIMITS, nice=7),
        )
    assert niceness == [7]
    with pytest.raises(ProcessLookupError):
        os.kill(logged_pid(caplog), 0)  # gone, and reaped (no zombie either)
    assert process_children_named(name="ffmpeg") == []


def test_ffmpeg_dies_with_a_sigkilled_parent() -> None:
    # The Celery pool process can be SIGKILLed (hard time limit, OOM killer),
    # which runs no Python cleanup at all; PR_SET_PDEATHSIG covers that case.
    script = textwrap.dedent(
        """
        import logging, sys
        import ffmpeg
        from transcoder.media.runner import run_ffmpeg
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
        # No -progress: an ffmpeg writing to the dead parent's pipe would die
        # of SIGPIPE anyway, and this test is about PR_SET_PDEATHSIG.
        stream = (ffmpeg.input("testsrc2=size=160x120:rate=25", f="lavfi")
                  .output("/dev/null", f="null").global_args("-v", "error", "-nostats"))
        from transcoder.media.runner import ProcessLimits
        limits = ProcessLimits(nice=0, memory_limit_bytes=2**31, probe_timeout=60, max_pixels=10**6)
        run_ffmpeg(stream, duration=3600.0, on_progress=lambda p: None, job_id="orphan",
                   limits=limits)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=SERVICE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    ffmpeg_pid = None
    try:
        assert parent.stdout is not None
        match = FFMPEG_PID_LINE.search(parent.stdout.readline())
        assert match, "the child did not log its ffmpeg pid"
        ffmpeg_pid = int(match.group(1))
        assert process_alive(ffmpeg_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=5)
        deadline = time.monotonic() + 5
        while process_alive(ffmpeg_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_alive(ffmpeg_pid)
    finally:
        parent.kill()
        parent.wait()
        if ffmpeg_pid is not None and process_alive(ffmpeg_pid):
            os.kill(ffmpeg_pid, signal.SIGKILL)  # don't leak it when the test fails


def test_ffmpeg_runs_under_the_memory_limit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="transcoder")
    seen: list[str] = []

    def read_limit(percent: int) -> None:
        limits_file = Path(f"/proc/{logged_pid(caplog)}/limits").read_text()
        seen.extend(line for line in limits_file.splitlines() if line.startswith("Max address"))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ffmpeg(
            lavfi("testsrc2=size=160x120:rate=25"),
            duration=3600.0,
            on_progress=read_limit,
            job_id="j",
            limits=dataclasses.replace(PROCESS_LIMITS, memory_limit_bytes=1024**3),
        )
    assert seen
    assert seen[0].split()[3:5] == [str(1024**3), str(1024**3)]


def test_a_frame_too_big_for_the_memory_limit_fails_instead_of_taking_the_host() -> None:
    # 8K frames in 64 MiB of address space: the allocation fails inside ffmpeg.
    with pytest.raises(TranscodeFailed):
        run_ffmpeg(
            lavfi("testsrc2=size=7680x4320:rate=25:duration=1"),
            duration=1.0,
            on_progress=lambda percent: None,
            job_id="j",
            limits=dataclasses.replace(PROCESS_LIMITS, memory_limit_bytes=64 * 1024**2),
        )
    assert process_children_named(name="ffmpeg") == []


def test_ffprobe_is_killed_past_its_timeout(tmp_path: Path) -> None:
    # A FIFO nobody writes to: ffprobe waits on it for ever.
    fifo = tmp_path / "stalled.mp4"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_probe(
            probe_command(source=fifo, max_pixels=PROCESS_LIMITS.max_pixels),
            limits=dataclasses.replace(PROCESS_LIMITS, probe_timeout=1.0),
        )
    assert time.monotonic() - started < 10
    assert process_children_named(name="ffprobe") == []


def test_a_probe_returns_as_soon_as_its_process_exits() -> None:
    # Popen.wait(timeout) polls at intervals growing to 50 ms: a process that
    # exits after 70 ms was noticed after 113.5 ms, on every probe of every job.
    # Measured beside a plain subprocess.run of the same process, so what a
    # busy machine adds to starting any process (pytest-xdist's other worker
    # runs ffmpeg) is not counted as late.
    late, plain = [], []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run(["sleep", "0.07"], check=True)
        plain.append(time.monotonic() - started)
        started = time.monotonic()
        output = run_probe(["sleep", "0.07"], limits=PROCESS_LIMITS)
        late.append(time.monotonic() - started)
        assert output.returncode == 0
    assert statistics.median(late) - statistics.median(plain) < 0.025, (late, plain)


def test_ffprobe_dies_with_its_job(tmp_path: Path) -> None:
    # SIGTERM (a revoke) raises SystemExit in a pool process; here SIGALRM
    # raises in the middle of the probe the same way.
    fifo = tmp_path / "stalled.mp4"
    os.mkfifo(fifo)

    def interrupt(signum: int, frame: object) -> None:
        raise SystemExit(1)

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with pytest.raises(SystemExit):
            run_probe(
                probe_command(source=fifo, max_pixels=PROCESS_LIMITS.max_pixels),
                limits=PROCESS_LIMITS,
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert process_children_named(name="ffprobe") == []
