"""`make run`, the README's first command: it starts everything, serves a
video to ready and plays it, and SIGTERM stops every process it started,
the object store it embeds when S3_ENDPOINT_URL is not set included."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import ApiClient
from tests.support.media import clip_make, ffprobe, stream_of
from tests.support.processes import alive, command_line, descendants
from tests.support.resources import postgres_database, rabbitmq_vhost
from tests.support.stack import REPO, free_port


def _make_run(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _run_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """No configuration but what the test must isolate: a port, and the
    embedded store's folder (so it is not this checkout's var/s3)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "S3_", "EMBEDDED_S3_")) and "_S3_" not in k
    }
    for name in ("BROKER_URL", "DATABASE_URL", "DJANGO_SECRET_KEY", "VIRTUAL_ENV", "MEDIA_ROOT"):
        env.pop(name, None)
    env.update(EMBEDDED_S3_DIR=str(tmp_path / "s3"), WEB_PORT=str(free_port()), **overrides)
    return env


def _weed_pids(tree: list[int]) -> list[int]:
    return [pid for pid in tree if " mini " in command_line(pid) and "weed" in command_line(pid)]


def _environ(pid: int) -> set[str]:
    """Names of the variables a process was started with."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return set()
    return {item.split(b"=", 1)[0].decode() for item in raw.split(b"\0") if item}


def _check_each_process_holds_only_its_own_keys(proc: subprocess.Popen) -> None:
    """docs/storage.md: the web's processes never see the transcoder's keys, nor vice versa."""
    seen = set()
    for pid in descendants(proc.pid):
        argv = command_line(pid)
        if "transcoder.worker" in argv:
            seen.add("worker")
            assert "TRANSCODER_S3_SECRET_ACCESS_KEY" in _environ(pid), argv
            assert "WEB_S3_SECRET_ACCESS_KEY" not in _environ(pid), argv
        elif "gunicorn" in argv or "run_collector" in argv or "bin/start collector" in argv:
            seen.add("web")
            assert "WEB_S3_SECRET_ACCESS_KEY" in _environ(pid), argv
            assert "TRANSCODER_S3_SECRET_ACCESS_KEY" not in _environ(pid), argv
    assert seen == {"web", "worker"}, seen


def _stop_and_check_no_orphans(proc: subprocess.Popen) -> None:
    tree = [proc.pid, *descendants(proc.pid)]
    assert len(tree) >= 7, "expected make, honcho, gunicorn, collector, worker and weed processes"
    assert len(_weed_pids(tree)) == 1, "the embedded SeaweedFS is not a child of make run"
    proc.send_signal(signal.SIGTERM)  # to make's PID only, as a supervisor would
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)], "processes left behind by make run"


def _check_secrets_are_private(database: Path | None) -> None:
    """var/ 0700, its secret key 0600, and a SQLite database (password hashes,
    sessions, tokens) 0600: nobody else on the machine reads them."""
    assert (REPO / "var").stat().st_mode & 0o777 == 0o700
    assert (REPO / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    if database is not None:
        assert database.stat().st_mode & 0o777 == 0o600


def _plays(api: ApiClient, output_url: str) -> None:
    """The page's video URL redirects to the store, which serves a real MP4, seekably."""
    followed = api.session.get(f"{api.base_url}{output_url}", allow_redirects=False, timeout=30)
    assert followed.status_code == 302, followed.text
    ranged = requests.get(followed.headers["Location"], headers={"Range": "bytes=0-63"}, timeout=30)
    assert ranged.status_code == 206, ranged.text
    assert ranged.content[4:8] == b"ftyp"
    probe = ffprobe(api.signed_url(output_url))
    assert "mp4" in probe["format"]["format_name"]
    assert stream_of(probe, "video")["codec_name"] == "h264"


def _plays_hls(api: ApiClient, video: dict) -> None:
    """The page offers the ladder with its quality menu; its master playlist is served."""
    assert video["hls_url"], video
    assert video["rungs"], video
    page = api.get(f"/videos/{video['id']}/")
    assert page.status_code == 200
    assert f'data-hls-url="{video["hls_url"]}"' in page.text
    assert '<select id="quality">' in page.text
    master = api.get(video["hls_url"])
    assert master.status_code == 200, master.text
    assert master.text.startswith("#EXTM3U")
    assert "#EXT-X-STREAM-INF" in master.text


def _check_signals_printed(text: str, *, rabbitmq: bool) -> None:
    """make run says where each /metrics is, and they answer there; and how to send traces."""
    where = dict(
        re.findall(r"\[make run\] metrics  (\w+) +(http://\S+/metrics)", text, flags=re.ASCII)
    )
    assert set(where) == {"web", "collector", "transcoder", *(["rabbitmq"] * rabbitmq)}, text
    # The one job, counted by each service.
    counted = {
        "web": ("web_uploads_completed_total", {}),
        "collector": ("video_jobs_finished_total", {"status": "ready"}),
        "transcoder": ("transcode_jobs_total", {"outcome": "succeeded", "code": ""}),
    }
    for service, (name, labels) in counted.items():
        answer = requests.get(where[service], timeout=10)
        assert answer.status_code == 200, (service, answer.text)
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }
        assert samples.get((name, tuple(sorted(labels.items())))) == 1, (service, samples)
    assert "[make run] traces   off: set OTEL_EXPORTER_OTLP_ENDPOINT=" in text


@pytest.mark.parametrize("mode", ["rabbitmq+postgres", "embedded filesystem+sqlite"])
def test_make_run_serves_a_video_and_stops_cleanly_on_sigterm(tmp_path: Path, mode: str):
    with rabbitmq_vhost() as broker_url, postgres_database() as database_url:
        if mode == "rabbitmq+postgres":
            env = _run_env(tmp_path, BROKER_URL=broker_url, DATABASE_URL=database_url)
        else:
            env = _run_env(
                tmp_path,
                BROKER_URL="filesystem://",
                BROKER_FILESYSTEM_DIR=str(tmp_path / "broker"),
                DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            )
        log = tmp_path / "make-run.log"
        proc = _make_run(env, log)
        try:
            api = ApiClient(f"http://127.0.0.1:{env['WEB_PORT']}")
            deadline = time.monotonic() + 120
            while f"Open http://localhost:{env['WEB_PORT']}/" not in log.read_text(
                errors="replace"
            ):
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.2)
            clip = clip_make(tmp_path / "clip.mp4", seconds=3, width=320, height=240)
            for _ in range(100):  # gunicorn binds a moment after the banner
                try:
                    response = api.upload(clip, title=mode)
                    break
                except OSError:
                    time.sleep(0.2)
            assert response.status_code == 201, response.text
            final, _ = api.wait_final(response.json()["id"], timeout=120)
            assert final["status"] == "ready", log.read_text(errors="replace")[-5000:]
            _plays(api, final["outputs"][0]["url"])
            _plays_hls(api, final)
            _check_each_process_holds_only_its_own_keys(proc)
            _check_secrets_are_private(tmp_path / "db.sqlite3" if "sqlite" in mode else None)
            text = log.read_text(errors="replace")
            assert "EMBEDDED SeaweedFS" in text  # said loudly, like the other fallbacks
            _check_signals_printed(text, rabbitmq=mode == "rabbitmq+postgres")
            _stop_and_check_no_orphans(proc)
            # The generated keys stay in their 0600 file: never printed.
            keys = tmp_path / "s3" / "credentials.json"
            assert keys.stat().st_mode & 0o777 == 0o600
            for identity in json.loads(keys.read_text()).values():
                assert identity["secretKey"] not in log.read_text(errors="replace")
        finally:
            # After a failure: every process `make run` started, by pid. honcho
            # gives each service its own process group, so killing make's
            # group alone would leave the stack running.
            for pid in [*descendants(proc.pid), proc.pid] if proc.poll() is None else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("name", "url", "where"),
    [
        ("BROKER_URL", "amqp://guest:guest@127.0.0.1:1//", "127.0.0.1:1"),
        ("S3_ENDPOINT_URL", "http://127.0.0.1:1", "127.0.0.1:1"),
    ],
)
def test_make_run_refuses_an_unreachable_url(tmp_path: Path, name: str, url: str, where: str):
    env = _run_env(tmp_path, **{name: url})
    result = subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{name} is set to {url!r}, but nothing answers on {where}." in output
    assert "EMBEDDED" not in output  # never a silent (or loud) fallback from what was asked
