"""What every measurement shares: the running stack (the e2e suite's:
`tests.support.stack.stack_running`), clips, the worker and the web
(restarted with each measurement's settings), taking turns, /proc readings
and profiling."""

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
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.direct import WORKER_KNOBS, HandJob, worker_argv
from bench.params import Params
from tests.support.api import FINAL, ApiClient
from tests.support.media import clip_make
from tests.support.observe import current_jobs, wait_until
from tests.support.processes import command_line, descendants
from tests.support.stack import REPO, Stack

# The web's TRANSCODE_PROFILES for the run (runner.py): the MP4 alone, which
# section 1 compares with a plain ffmpeg; the ladder's rows switch to "hls".
MP4_ONLY = "720p"
T = TypeVar("T")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def cores() -> int:
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def curl_upload(
    url: str,
    path: Path,
    *,
    headers: dict[str, str],
    title: str,
    content_type: str = "application/octet-stream",
) -> tuple[int, float, str]:
    """(http code, seconds, body) for one multipart upload of `path` with curl.

    curl streams the file as it reads it, as a browser does. `requests`
    (files=) first builds the whole body in memory: for a 98 MB source that
    was 0.15-0.2 s before the first byte left, counted against the system.
    """
    argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{time_total}", "-H", "Expect:"]
    argv += ["-F", f"file=@{path};filename={path.name};type={content_type}"]
    argv += ["-F", f"title={title}"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    argv.append(url)
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900).stdout
    body, _, stats = out.rpartition("\n")
    code, seconds = stats.split()
    return int(code), float(seconds), body


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        # A process may end between listing and reading: it then holds no memory.
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    return total


@contextlib.contextmanager
def rss_growth(pids: Sequence[int], *, interval: float = 0.02) -> Iterator[list[int]]:
    """Yields a list that, once the block ends, holds the peak RSS of `pids`
    above their RSS at the start, sampled every `interval` seconds meanwhile."""
    before, peak, done = rss_bytes(pids), [0], threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], rss_bytes(pids) - before)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss_bytes(pids) - before)


def rounds_rotated(names: Sequence[T], *, repeats: int, offset: int = 0) -> Iterator[list[T]]:
    """`repeats` orders of `names`, each starting one further along.

    Who goes first takes turns, so that a cache one side warms for the next,
    or a neighbour's burst of load, does not always favour the same side.
    """
    for i in range(offset, offset + repeats):
        shift = i % len(names)
        yield [*names[shift:], *names[:shift]]


def folded_summary(path: Path, *, top: int = 25) -> str:
    """The frames where most samples were taken ("self"), from py-spy's raw output."""
    own: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        own[stack.split(";")[-1]] += int(count)
    total = own.total()
    lines = [f"{total} samples (active only) in {path.name}"]
    lines += [f"{c / total:6.1%}  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines) + "\n"


@dataclass
class Bench:
    stack: Stack
    params: Params
    workdir: Path
    raw: dict[str, Any] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    # --worker-env: applied under every measurement's own settings.
    worker_defaults: dict[str, str] = field(default_factory=dict)
    # --profile: py-spy records every service process while a section runs.
    profile_dir: Path | None = None
    _spies: list[tuple[Path, subprocess.Popen]] = field(default_factory=list)
    _section: str = ""
    _worker_base: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.api = ApiClient(self.stack.base_url)
        self.api.headers()  # signed up and holding a token before any timed request

    def clip(self, *, seconds: float, width: int, height: int) -> Path:
        """A test-pattern clip, kept across runs in var/bench/cache."""
        cache = REPO / "var" / "bench" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / f"testsrc2-{width}x{height}-{seconds:g}s.mp4"
        if not path.exists():
            # Made under another name first: an interrupted run leaves no half clip behind.
            temp = path.with_suffix(".part.mp4")
            clip_make(temp, seconds=seconds, width=width, height=height)
            temp.rename(path)
        return path

    def main_clip(self) -> Path:
        width, height = self.params.clip_size
        return self.clip(seconds=self.params.clip_seconds, width=width, height=height)

    def argv_for(self, source: Path, out_dir: Path, *, profile: str = "720p") -> HandJob:
        # The worker's whole environment: its settings need the store's variables too.
        env = {**self._base(), **self.worker_env}
        return worker_argv(source, out_dir, env=env, profile=profile)

    def scratch(self, name: str) -> Path:
        path = self.workdir / "scratch" / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def _base(self) -> dict[str, str]:
        """The worker's own environment from the stack (its store keys), minus WORKER_KNOBS."""
        if self._worker_base is None:
            env = self.stack.processes["worker"].env
            self._worker_base = {k: v for k, v in env.items() if k not in WORKER_KNOBS}
        return self._worker_base

    def _restart(self, name: str, env: dict[str, str]) -> None:
        proc = self.stack.processes[name]
        self.wait_idle()
        proc.stop()
        proc.popen = None
        proc.env = env
        proc.start()
        if name == "worker":
            self.stack.wait_worker(timeout=60)
        else:
            self.stack.wait_web()
        self._spy(name)

    def worker(self, **env: str | int) -> None:
        """(Re)start the worker with these settings on top of the service defaults."""
        wanted = {
            "TRANSCODER_CONCURRENCY": str(cores()),
            **self.worker_defaults,
            **{k: str(v) for k, v in env.items()},
        }
        if not self.stack.processes["worker"].running or wanted != self.worker_env:
            self._restart("worker", {**self._base(), **wanted})
            self.worker_env = wanted

    def web(self, profiles: str = MP4_ONLY) -> None:
        """(Re)start the web so that new uploads ask for `profiles` (TRANSCODE_PROFILES):
        the web reads it at start-up and the API has no per-upload choice, and a
        restart is simpler than a second stack or a second web on another port."""
        proc = self.stack.processes["web"]
        if not proc.running or proc.env.get("TRANSCODE_PROFILES") != profiles:
            self._restart("web", {**proc.env, "TRANSCODE_PROFILES": profiles})

    def ffmpeg_count(self) -> int:
        """How many ffmpeg processes run under the worker now."""
        proc = self.stack.processes["worker"]
        pids = tree(proc.pid) if proc.running else []
        return sum(command_line(p).startswith("ffmpeg") for p in pids)

    def wait_idle(self, timeout: float = 120) -> None:
        """No job is unfinished and no ffmpeg runs under the worker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = current_jobs(self.stack.env["DATABASE_URL"])
            busy = any(j["status"] in ("queued", "processing") for j in jobs)
            if not busy and not self.ffmpeg_count():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the system did not go idle within {timeout} s")

    def upload(self, path: Path, *, title: str = "bench") -> str:
        url = f"{self.stack.base_url}/api/videos/"
        code, _, body = curl_upload(
            url, path, headers=self.api.headers(), title=title, content_type="video/mp4"
        )
        if code != 201:
            raise RuntimeError(f"upload refused: {code} {body[:300]}")
        video_id: str = json.loads(body)["id"]
        return video_id

    def jobs(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The current job of each video, in their order, read from the database:
        polling the web instead would steal CPU from the jobs being timed."""
        rows = current_jobs(self.stack.env["DATABASE_URL"], video_ids=video_ids)
        found = {j["video_id"]: j for j in rows}
        return [found[v] for v in video_ids if v in found]

    def wait_final(self, video_ids: Sequence[str], *, timeout: float = 600) -> list[dict[str, Any]]:
        def final() -> list[dict[str, Any]] | None:
            jobs = self.jobs(video_ids)
            done = len(jobs) == len(video_ids) and all(j["status"] in FINAL for j in jobs)
            return jobs if done else None

        what = f"the jobs of {len(video_ids)} video(s) final"
        # Each look is a new database connection (a Postgres backend forked):
        # looking often would take CPU from the jobs, and their end is read
        # from finished_at, not from when this loop noticed.
        return wait_until(final, timeout=timeout, what=what, interval=1.0)

    def _spy(self, name: str) -> None:
        proc = self.stack.processes[name]
        if self.profile_dir is None or not self._section or not proc.running:
            return
        py_spy = shutil.which("py-spy", path=str(REPO / ".venv" / "bin")) or shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("--profile needs py-spy (pip install -r bench/requirements.txt)")
        path = self.profile_dir / f"{self._section}-{name}-{proc.pid}.folded"
        argv = [py_spy, "record", "--pid", str(proc.pid), "--subprocesses", "--rate", "250"]
        argv += ["--format", "raw", "--output", str(path), "--nonblocking"]
        spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
