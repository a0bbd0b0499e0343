"""The worker's own commands, asked from its code and run by hand (no system).

These are the baselines: what a user would run on a local file to get the
same outputs: ffprobe, then the worker's ffmpeg transcode argv (same
-threads), then the poster, one after the other, at normal priority. No
download or upload: the file is already on the local disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.stack import REPO

TRANSCODER_DIR = REPO / "transcoder_service"
TRANSCODER_PYTHON = TRANSCODER_DIR / ".venv" / "bin" / "python"
# Worker variables the bench sets per measurement; anything else in the
# caller's environment must not leak into a measurement.
WORKER_KNOBS = ("TRANSCODER_CONCURRENCY", "FFMPEG_THREADS", "FFMPEG_NICE", "PROGRESS_INTERVAL")


@dataclass(frozen=True)
class WorkerArgv:
    """The argv lists the worker runs for one source (see bench/worker_argv.py)."""

    probe: list[str]
    transcode: list[str]
    poster: list[str]
    nice: int
    threads: int
    raw: dict[str, Any]

    def retarget(self, out_dir: Path) -> WorkerArgv:
        """The same commands writing into `out_dir` instead."""
        old = str(Path(self.raw["rendition"]).parent)

        def move(argv: list[str]) -> list[str]:
            return [a.replace(old, str(out_dir), 1) if a.startswith(old) else a for a in argv]

        return WorkerArgv(
            probe=self.probe,
            transcode=move(self.transcode),
            poster=move(self.poster),
            nice=self.nice,
            threads=self.threads,
            raw=self.raw,
        )


def worker_argv(
    source: Path,
    out_dir: Path,
    *,
    env: dict[str, str],
    preset: str | None = None,
    crf: int | None = None,
) -> WorkerArgv:
    """Ask the worker's own code (in its own venv) for its argv lists."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(TRANSCODER_PYTHON), "-m", "bench.worker_argv", str(source), str(out_dir)]
    if preset:
        argv += ["--preset", preset]
    if crf is not None:
        argv += ["--crf", str(crf)]
    child_env = {k: v for k, v in os.environ.items() if k not in WORKER_KNOBS}
    child_env.update(env)
    child_env["PYTHONPATH"] = f"{REPO}{os.pathsep}{TRANSCODER_DIR}"
    out = subprocess.run(
        argv, cwd=TRANSCODER_DIR, env=child_env, capture_output=True, text=True, check=True
    )
    raw = json.loads(out.stdout)
    return WorkerArgv(
        probe=raw["probe"],
        transcode=raw["transcode"],
        poster=raw["poster"],
        nice=raw["nice"],
        threads=raw["threads"],
        raw=raw,
    )


def run_argv(argv: Sequence[str]) -> None:
    """Run one command: stdout read through a pipe, checked."""
    proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")


def direct_job(cmds: WorkerArgv) -> dict[str, float]:
    """ffprobe, transcode, poster by hand, timed per stage (seconds)."""
    stages: dict[str, float] = {}
    start = time.perf_counter()
    steps = {"probe": cmds.probe, "transcode": cmds.transcode, "poster": cmds.poster}
    for stage, argv in steps.items():
        mark = time.perf_counter()
        run_argv(argv)
        stages[stage] = time.perf_counter() - mark
    stages["total"] = time.perf_counter() - start
    return stages


def direct_batch(jobs: Sequence[WorkerArgv], *, lanes: int) -> float:
    """Run whole jobs `lanes`-way parallel (like `xargs -P lanes`); the makespan in seconds."""
    queue = list(jobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def lane() -> None:
        while True:
            with lock:
                if not queue or errors:
                    return
                job = queue.pop(0)
            try:
                direct_job(job)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                with lock:
                    errors.append(exc)

    start = time.perf_counter()
    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start
