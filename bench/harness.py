"""What every measurement shares: the running stack, the worker's own argv,
direct (no-system) runs of those commands, media, and /proc sampling.

The stack is the e2e suite's: `tests.support.stack.stack_running` (own
RabbitMQ vhost, PostgreSQL database and media root; gunicorn, collector and
worker started through each service's bin/start).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import psycopg2

from tests.support.api import FINAL, ApiClient
from tests.support.media import clip_make
from tests.support.processes import command_line, descendants
from tests.support.stack import REPO, Stack

TRANSCODER_DIR = REPO / "transcoder_service"
TRANSCODER_PYTHON = TRANSCODER_DIR / ".venv" / "bin" / "python"
# Worker variables the bench sets per measurement; anything else in the
# caller's environment must not leak into a measurement.
WORKER_KNOBS = ("TRANSCODER_CONCURRENCY", "FFMPEG_THREADS", "FFMPEG_NICE", "PROGRESS_INTERVAL")
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


# ---- the worker's commands, run directly ------------------------------------


@dataclass(frozen=True)
class WorkerArgv:
    """The argv lists the worker runs for one source (see bench/worker_argv.py)."""

    probe: list[str]
    transcode: list[str]
    poster: list[str]
    verify: list[list[str]]
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
            verify=[move(a) for a in self.verify],
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
        verify=raw["verify"],
        nice=raw["nice"],
        threads=raw["threads"],
        raw=raw,
    )


def _niced(nice: int):
    return (lambda: os.nice(nice)) if nice else None


def run_argv(argv: Sequence[str], *, nice: int = 0) -> None:
    """Run one command as the worker does: stdout read through a pipe, checked."""
    proc = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        preexec_fn=_niced(nice),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")


def direct_job(cmds: WorkerArgv) -> dict[str, float]:
    """The worker's five commands in the worker's order, timed per stage (seconds)."""
    stages: dict[str, float] = {}
    start = time.perf_counter()
    run_argv(cmds.probe)
    stages["probe"] = time.perf_counter() - start
    mark = time.perf_counter()
    run_argv(cmds.transcode, nice=cmds.nice)
    stages["transcode"] = time.perf_counter() - mark
    mark = time.perf_counter()
    run_argv(cmds.poster, nice=cmds.nice)
    stages["poster"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for argv in cmds.verify:
        run_argv(argv)
    stages["verify"] = time.perf_counter() - mark
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


def folded_summary(path: Path, top: int = 25) -> str:
    """The frames where most samples were taken ("self"), from py-spy's raw output."""
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
        total += int(count)
    lines = [f"{total} samples (active only) in {path.name}"]
    lines += [f"{c / total:6.1%}  {f}" for f, c in sorted(own.items(), key=lambda x: -x[1])[:top]]
    return "\n".join(lines) + "\n"


# ---- /proc sampling -----------------------------------------------------------


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


# ---- the bench's view of the running system -----------------------------------


@dataclass
class Params:
    """How much to measure. `full` is `make bench`; `quick` fewer repeats; `smoke` tiny."""

    mode: str
    clip_seconds: float
    clip_size: tuple[int, int]
    e2e_repeats: int
    poll_interval: float
    ping_runs: int
    ping_per_run: int
    upload_bytes: int
    upload_repeats: int
    tp_jobs: int
    tp_rounds: int
    tp_explore: bool
    resp_window: float
    resp_repeats: int
    resp_rate: int
    resp_clip_seconds: float
    prog_pairs: int
    prog_jobs: int
    enc_configs: tuple[tuple[str, int], ...]
    enc_contents: tuple[str, ...]
    enc_repeats: int

    @classmethod
    def for_mode(cls, mode: str) -> Params:
        full_grid = (
            ("veryfast", 23),  # the default (profiles.py); first = the baseline
            ("veryfast", 20),  # the default preset at three CRFs: its rate–quality curve
            ("veryfast", 26),
            ("faster", 23),
            ("medium", 23),
            ("superfast", 23),
        )
        if mode == "smoke":
            return cls(
                mode=mode,
                clip_seconds=2,
                clip_size=(320, 180),
                e2e_repeats=1,
                poll_interval=0.05,
                ping_runs=1,
                ping_per_run=10,
                upload_bytes=8 * 1024**2,
                upload_repeats=1,
                tp_jobs=2,
                tp_rounds=1,
                tp_explore=False,
                resp_window=1.5,
                resp_repeats=1,
                resp_rate=50,
                resp_clip_seconds=4,
                prog_pairs=1,
                prog_jobs=1,
                enc_configs=(full_grid[0], full_grid[3]),
                enc_contents=("testsrc2",),
                enc_repeats=1,
            )
        if mode == "quick":
            return cls(
                mode=mode,
                clip_seconds=10,
                clip_size=(1280, 720),
                e2e_repeats=3,
                poll_interval=0.05,
                ping_runs=3,
                ping_per_run=50,
                upload_bytes=1024**3,
                upload_repeats=1,
                tp_jobs=12,
                tp_rounds=1,
                tp_explore=False,
                resp_window=8,
                resp_repeats=1,
                resp_rate=50,
                resp_clip_seconds=60,
                prog_pairs=2,
                prog_jobs=4,
                enc_configs=full_grid[:5],
                enc_contents=("testsrc2", "mandelbrot"),
                enc_repeats=1,
            )
        return cls(
            mode="full",
            clip_seconds=10,
            clip_size=(1280, 720),
            e2e_repeats=5,
            poll_interval=0.05,
            ping_runs=5,
            ping_per_run=60,
            upload_bytes=1024**3,
            upload_repeats=3,
            tp_jobs=12,
            tp_rounds=2,
            tp_explore=True,
            resp_window=15,
            resp_repeats=2,
            resp_rate=50,
            resp_clip_seconds=60,
            prog_pairs=3,
            prog_jobs=4,
            enc_configs=full_grid,
            enc_contents=("testsrc2", "mandelbrot"),
            enc_repeats=1,
        )


@dataclass
class Bench:
    stack: Stack
    params: Params
    workdir: Path
    raw: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    worker_env: dict[str, str] = field(default_factory=dict)
    # --worker-env: applied under every measurement's own knobs.
    worker_defaults: dict[str, str] = field(default_factory=dict)
    # --profile: py-spy records every service process while a section runs.
    profile_dir: Path | None = None
    _clips: dict[tuple, Path] = field(default_factory=dict)
    _spies: list[tuple[Path, subprocess.Popen]] = field(default_factory=list)
    _section: str = ""

    def __post_init__(self) -> None:
        self.api = ApiClient(self.stack.base_url)
        self.api._csrf_token()  # the cookie is set before any timed request

    @property
    def media_root(self) -> Path:
        return self.stack.media_root

    # -- media -------------------------------------------------------------

    def clip(self, name: str, *, seconds: float, width: int, height: int) -> Path:
        """A generated clip, reused across measurements (and across runs, via var/bench/cache)."""
        key = (name, seconds, width, height)
        if key in self._clips:
            return self._clips[key]
        cache = REPO / "var" / "bench" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / f"{name}-{width}x{height}-{seconds:g}s.mp4"
        if not path.exists():
            temp = path.with_suffix(".part.mp4")
            if name == "testsrc2":
                clip_make(temp, seconds=seconds, width=width, height=height)
            elif name == "mandelbrot":
                # Continuous zoom into fine detail: harder for the encoder than
                # the test pattern, closer to a real camera's texture and motion.
                subprocess.run(
                    [
                        "ffmpeg",
                        "-v",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        f"mandelbrot=size={width}x{height}:rate=25",
                        "-f",
                        "lavfi",
                        "-i",
                        f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                        "-t",
                        str(seconds),
                        "-c:v",
                        "libx264",
                        "-preset",
                        "ultrafast",
                        "-crf",
                        "12",
                        "-pix_fmt",
                        "yuv420p",
                        "-c:a",
                        "aac",
                        "-b:a",
                        "96k",
                        "-shortest",
                        str(temp),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
            else:
                raise ValueError(name)
            temp.rename(path)
        self._clips[key] = path
        return path

    def main_clip(self) -> Path:
        width, height = self.params.clip_size
        return self.clip("testsrc2", seconds=self.params.clip_seconds, width=width, height=height)

    def argv_for(self, source: Path, out_dir: Path, **kw: Any) -> WorkerArgv:
        return worker_argv(source, out_dir, env=self.worker_env, **kw)

    # -- the worker ----------------------------------------------------------

    def worker(self, **env: str) -> None:
        """(Re)start the worker with these knobs on top of the service defaults."""
        wanted = {
            "TRANSCODER_CONCURRENCY": str(cores()),
            **self.worker_defaults,
            **{k: str(v) for k, v in env.items()},
        }
        proc = self.stack.processes["worker"]
        if proc.running and wanted == self.worker_env:
            return
        self.wait_idle()
        proc.stop()
        proc.popen = None
        base = {k: v for k, v in self.stack.env.items() if k not in WORKER_KNOBS}
        proc.env = {**base, **wanted}
        self.worker_env = wanted
        proc.start()
        self.stack.wait_worker(timeout=60)
        self._spy("worker")

    # -- profiling (--profile) -----------------------------------------------

    def _spy(self, name: str) -> None:
        proc = self.stack.processes[name]
        if self.profile_dir is None or not self._section or not proc.running:
            return
        py_spy = shutil.which("py-spy", path=str(REPO / ".venv" / "bin")) or shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("--profile needs py-spy (pip install -r bench/requirements.txt)")
        path = self.profile_dir / f"{self._section}-{name}-{proc.pid}.folded"
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(proc.pid),
                "--subprocesses",
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(path),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._spies.append((path, spy))

    @contextlib.contextmanager
    def profiling(self, section: str) -> Iterator[None]:
        """Record web, collector and worker (and each worker restart) during a section."""
        if self.profile_dir is None:
            yield
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self._section = section
        for name in ("web", "collector", "worker"):
            self._spy(name)
        try:
            yield
        finally:
            self._section = ""
            for path, spy in self._spies:
                if spy.poll() is None:
                    spy.send_signal(signal.SIGINT)
                try:
                    spy.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    spy.kill()
                if path.exists():
                    path.with_suffix(".top.txt").write_text(folded_summary(path))
            self._spies.clear()

    def worker_tree_has_ffmpeg(self) -> bool:
        proc = self.stack.processes["worker"]
        return any(command_line(p).startswith("ffmpeg") for p in tree(proc.pid))

    def wait_idle(self, timeout: float = 120) -> None:
        """No job of ours is unfinished and no ffmpeg runs under the worker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db() as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM videos_transcodejob WHERE status IN ('queued', 'processing')"
                )
                (busy,) = cur.fetchone()
            proc = self.stack.processes["worker"]
            if not busy and not (proc.running and self.worker_tree_has_ffmpeg()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the system did not go idle within {timeout} s")

    # -- web and database --------------------------------------------------

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        conn = psycopg2.connect(self.stack.env["DATABASE_URL"])
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def upload(self, path: Path, *, title: str = "bench") -> str:
        response = self.api.upload(path, title=title, filename=path.name)
        if response.status_code != 201:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
        return response.json()["id"]

    def jobs(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The current job of each video, as the web database has it."""
        with self.db() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT v.id::text, j.status, j.created_at, j.sent_at, j.started_at, j.finished_at, "
                "j.result, j.error FROM videos_video v JOIN videos_transcodejob j "
                "ON j.id = v.current_job_id WHERE v.id::text = ANY(%s)",
                (list(video_ids),),
            )
            rows = cur.fetchall()
        keys = (
            "video_id",
            "status",
            "created_at",
            "sent_at",
            "started_at",
            "finished_at",
            "result",
            "error",
        )
        found = {r[0]: dict(zip(keys, r, strict=True)) for r in rows}
        return [found[v] for v in video_ids if v in found]

    def wait_final(
        self, video_ids: Sequence[str], *, timeout: float = 600, poll: float = 0.25
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs(video_ids)
            if len(jobs) == len(video_ids) and all(j["status"] in FINAL for j in jobs):
                return jobs
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jobs not final after {timeout} s: {[j['status'] for j in jobs]}"
                )
            time.sleep(poll)

    def cancel(self, video_id: str) -> None:
        token = self.api._csrf_token()
        self.api.session.post(
            f"{self.stack.base_url}/api/videos/{video_id}/cancel/",
            headers={"X-CSRFToken": token, "Referer": self.stack.base_url + "/"},
            timeout=30,
        )

    def scratch(self, name: str) -> Path:
        path = self.workdir / "scratch" / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def cleanup_media(self) -> None:
        """Drop sources and outputs between measurements (the disk is shared)."""
        for sub in ("sources", "outputs"):
            shutil.rmtree(self.media_root / sub, ignore_errors=True)
