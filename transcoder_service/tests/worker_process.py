"""Runs `bin/start worker` (the Procfile command) as a subprocess for tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from .processes import ffmpeg_pid_pattern, process_children
from .support import SERVICE_DIR

STOP_TIMEOUT_SECONDS = 20


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.process = process
        self._log = log

    @classmethod
    def start(cls, *, broker_url: str, env: dict[str, str]) -> WorkerProcess:
        log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log")  # noqa: SIM115
        process = subprocess.Popen(
            [str(SERVICE_DIR / "bin" / "start"), "worker"],
            cwd=SERVICE_DIR,
            env={**os.environ, "BROKER_URL": broker_url, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return cls(process, log)

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def wait_for_log(self, pattern: str | re.Pattern[str], *, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log_text())
            if match:
                return match
            if self.returncode is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not in the worker log:\n{self.log_text()[-3000:]}")

    def wait_for_ffmpeg_pid(self, job_id: str) -> int:
        """The pid of the ffmpeg a job runs, from the runner's log line."""
        return int(self.wait_for_log(ffmpeg_pid_pattern(job_id=job_id)).group(1))

    def children(self) -> list[int]:
        return process_children(self.process.pid)

    def stop(self) -> None:
        """SIGTERM (Celery's warm shutdown), then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
