"""What every measurement shares: the running stack, clips, the worker
(restarted with each measurement's knobs) and profiling.
The by-hand runs of the worker's commands are in bench/direct.py, /proc
readings in bench/procfs.py, and how much each mode measures in
bench/params.py.

The stack is the e2e suite's: `tests.support.stack.stack_running` (own
RabbitMQ vhost, PostgreSQL database and S3 store; gunicorn, collector and
worker started through each service's bin/start).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from bench.direct import WORKER_KNOBS, HandJob, worker_argv
from bench.params import Params
from bench.procfs import cores, tree
from tests.support.api import FINAL, ApiClient
from tests.support.media import clip_make
from tests.support.processes import command_line
from tests.support.stack import REPO, Stack

# The web's TRANSCODE_PROFILES for the run (runner.py): the MP4 alone, which
# the issue 13 rows compare with a plain ffmpeg; the ladder rows switch to "hls".
MP4_ONLY = "720p"


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


# ---- the bench's view of the running system -----------------------------------


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
    _worker_base: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.api = ApiClient(self.stack.base_url)
        self.api.headers()  # signed up and holding a token before any timed request

    # -- clips --------------------------------------------------------------

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
                inputs = (
                    f"-f lavfi -i mandelbrot=size={width}x{height}:rate=25 "
                    f"-f lavfi -i sine=frequency=440:sample_rate=48000:duration={seconds}"
                )
                encode = "-c:v libx264 -preset ultrafast -crf 12 -pix_fmt yuv420p -c:a aac -b:a 96k"
                argv = f"ffmpeg -v error -y {inputs} -t {seconds} {encode} -shortest".split()
                subprocess.run([*argv, str(temp)], check=True, capture_output=True, timeout=600)
            else:
                raise ValueError(name)
            temp.rename(path)
        self._clips[key] = path
        return path

    def main_clip(self) -> Path:
        width, height = self.params.clip_size
        return self.clip("testsrc2", seconds=self.params.clip_seconds, width=width, height=height)

    def argv_for(self, source: Path, out_dir: Path, **kw: Any) -> HandJob:
        # The worker's whole environment: its settings need the store's variables too.
        return worker_argv(source, out_dir, env={**self._base(), **self.worker_env}, **kw)

    # -- the worker ----------------------------------------------------------

    def _base(self) -> dict[str, str]:
        """The worker's environment as the stack first defined it, without the knobs.

        The stack gives each process its own variables (the worker's store
        credentials), so this starts from the worker's, not the stack's shared env.
        """
        if self._worker_base is None:
            env = self.stack.processes["worker"].env
            self._worker_base = {k: v for k, v in env.items() if k not in WORKER_KNOBS}
        return self._worker_base

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
        proc.env = {**self._base(), **wanted}
        self.worker_env = wanted
        proc.start()
        self.stack.wait_worker(timeout=60)
        self._spy("worker")

    def web(self, profiles: str = MP4_ONLY) -> None:
        """(Re)start the web so that new uploads ask for `profiles` (TRANSCODE_PROFILES).

        The web reads that list at start-up and the API has no per-upload
        choice, so a restart, a second or two with no job in flight, is how
        rows switch it: simpler than a second stack (database, vhost, store)
        or a second web on another port (a second base URL for every helper).
        """
        proc = self.stack.processes["web"]
        if proc.running and proc.env.get("TRANSCODE_PROFILES") == profiles:
            return
        self.wait_idle()
        proc.stop()
        proc.popen = None
        proc.env = {**proc.env, "TRANSCODE_PROFILES": profiles}
        proc.start()
        self.stack.wait_web()
        self._spy("web")

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
        self.api.post(f"/api/videos/{video_id}/cancel/")

    def scratch(self, name: str) -> Path:
        path = self.workdir / "scratch" / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path
