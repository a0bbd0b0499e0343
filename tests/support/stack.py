"""The whole system as real processes: web (gunicorn), collector and worker.

Each process starts through its service's `bin/start`, the same entry point
`make run` and docker-compose use, on a throwaway RabbitMQ vhost, database
and media root.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.celery_client import bare_client
from tests.support.outages import BrokerLine
from tests.support.processes import ManagedProcess
from tests.support.resources import postgres_database, rabbitmq_vhost

REPO = Path(__file__).resolve().parents[2]
SERVICES = {
    "web": ("web_service", "web"),
    "collector": ("web_service", "collector"),
    "worker": ("transcoder_service", "worker"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    workdir: Path
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def broker_url(self) -> str:
        return self.env["BROKER_URL"]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def media_root(self) -> Path:
        return Path(self.env["MEDIA_ROOT"])

    def process(
        self, name: str, *, service: str, process_type: str, **extra_env: str
    ) -> ManagedProcess:
        """Define (not start) a process from a service's Procfile."""
        proc = ManagedProcess(
            name=name,
            argv=[str(REPO / service / "bin" / "start"), process_type],
            cwd=REPO / service,
            env={**self.env, **extra_env},
            log_path=self.workdir / f"{name}.log",
        )
        self.processes[name] = proc
        return proc

    def start(self, name: str) -> ManagedProcess:
        return self.processes[name].start()

    def stop_all(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()

    def wait_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"web not healthy after {timeout} s:\n{self.logs('web')}")

    def wait_worker(self, timeout: float = 60) -> None:
        """A worker answers `transcode.ping`, sent by name."""
        client = bare_client(self.broker_url)
        try:
            result = client.send_task("transcode.ping")
            assert result.get(timeout=timeout)["pong"] is True
        finally:
            client.close()

    def logs(self, *names: str) -> str:
        chosen = names or tuple(self.processes)
        return "\n".join(f"--- {n} ---\n{self.processes[n].log_text()[-4000:]}" for n in chosen)


def stack_env(*, broker_url: str, database_url: str, media_root: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        BROKER_URL=broker_url,
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media_root),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        WEB_HOST="127.0.0.1",
        WEB_PORT=str(port),
        WEB_CONCURRENCY="2",
        OUTBOX_RELAY_INTERVAL="1",
        TRANSCODER_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


@contextmanager
def stack_running(
    workdir: Path,
    *,
    start: tuple[str, ...] = ("web", "collector", "worker"),
    broker_line: BrokerLine | None = None,
    **env_overrides: str,
) -> Iterator[Stack]:
    """Own vhost, database and media root; the processes in `start` running.

    With `broker_line`, every process (and the stack's own clients) reaches
    the broker through it, so a test can cut the broker off from this stack
    alone.
    """
    with ExitStack() as cleanup:
        broker_url = cleanup.enter_context(rabbitmq_vhost())
        if broker_line is not None:
            broker_url = broker_line.url_through(broker_url)
        database_url = cleanup.enter_context(postgres_database())
        media_root = workdir / "media"
        media_root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = stack_env(
            broker_url=broker_url, database_url=database_url, media_root=media_root, port=port
        )
        env.update(env_overrides)
        stack = Stack(base_url=f"http://127.0.0.1:{port}", env=env, workdir=workdir)
        for name, (service, process_type) in SERVICES.items():
            stack.process(name, service=service, process_type=process_type)
        cleanup.callback(stack.stop_all)
        release = subprocess.run(
            [str(REPO / "web_service" / "bin" / "start"), "release"],
            cwd=REPO / "web_service",
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert release.returncode == 0, release.stdout + release.stderr
        for name in start:
            stack.start(name)
        if "web" in start:
            stack.wait_web()
        if "worker" in start:
            stack.wait_worker()
        yield stack


@contextmanager
def stack_external() -> Iterator[Stack]:
    """The stack someone else runs (docker compose): E2E_BASE_URL, BROKER_URL, MEDIA_ROOT."""
    env = dict(os.environ)
    stack = Stack(
        base_url=env["E2E_BASE_URL"].rstrip("/"), env=env, workdir=Path(env.get("MEDIA_ROOT", "."))
    )
    stack.wait_web()
    stack.wait_worker()
    yield stack
