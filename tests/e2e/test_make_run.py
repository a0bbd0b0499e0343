"""`make run`, the README's first command: it starts everything, serves a
video to ready, and SIGTERM stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.media import clip_make
from tests.support.processes import _alive, descendants
from tests.support.resources import postgres_database, rabbitmq_vhost
from tests.support.stack import REPO, free_port


def _make_run(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _run_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in ("BROKER_URL", "DATABASE_URL", "DJANGO_SECRET_KEY", "VIRTUAL_ENV"):
        env.pop(name, None)
    env.update(MEDIA_ROOT=str(tmp_path / "media"), WEB_PORT=str(free_port()), **overrides)
    return env


def _stop_and_check_no_orphans(proc: subprocess.Popen) -> None:
    tree = [proc.pid, *descendants(proc.pid)]
    assert len(tree) >= 6, "expected make, honcho, gunicorn, collector and worker processes"
    proc.send_signal(signal.SIGTERM)  # to make's PID only, as a supervisor would
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if _alive(pid)], "processes left behind by make run"


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
            _stop_and_check_no_orphans(proc)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)


def test_make_run_refuses_an_unreachable_url(tmp_path: Path):
    env = _run_env(tmp_path, BROKER_URL="amqp://guest:guest@127.0.0.1:1//")
    result = subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert (
        "BROKER_URL is set to 'amqp://guest:guest@127.0.0.1:1//', but nothing answers on 127.0.0.1:1."
        in (result.stdout + result.stderr)
    )
