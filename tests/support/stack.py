"""The whole system as real processes: web (gunicorn), collector and worker.

Each process starts through its service's `bin/start`, the same entry point
`make run` and docker-compose use, on a throwaway RabbitMQ vhost, database
and object store (a SeaweedFS of its own, with one bucket). Each process
gets only its own service's store keys, as docs/storage.md requires.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.celery_client import bare_client
from tests.support.object_store import BucketView, SeaweedFS, s3_client, seaweedfs_running
from tests.support.processes import ManagedProcess
from tests.support.resources import postgres_database, rabbitmq_vhost
from tests.support.tcp_line import TcpLine

REPO = Path(__file__).resolve().parents[2]
SERVICES = {
    "web": ("web_service", "web"),
    "collector": ("web_service", "collector"),
    "worker": ("transcoder_service", "worker"),
}
ROLE = {"web_service": "web", "transcoder_service": "transcoder"}  # whose store keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]  # what every process shares: no store keys
    workdir: Path
    store: BucketView  # the bucket, seen with the tests' admin keys (or the web's, external)
    s3: SeaweedFS | None = None  # the store process, when this stack started it
    store_lines: Mapping[str, TcpLine] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def broker_url(self) -> str:
        return self.env["BROKER_URL"]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def scratch_dir(self) -> Path:
        """The transcoder's local folder for the files of a running attempt."""
        return self.workdir / "scratch"

    def service_env(self, service: str, name: str = "") -> dict[str, str]:
        """`env` plus the service's own store keys; through its line if process `name` has one."""
        assert self.s3 is not None, "an external stack's processes are not ours to start"
        line = self.store_lines.get(name)
        endpoint = line.url_through(self.s3.endpoint_url) if line else None
        extra = {"SCRATCH_DIR": str(self.scratch_dir)} if service == "transcoder_service" else {}
        return {**self.env, **self.s3.env_for(ROLE[service], endpoint), **extra}

    def process(
        self, name: str, *, service: str, process_type: str, **extra_env: str
    ) -> ManagedProcess:
        """Define (not start) a process from a service's Procfile."""
        proc = ManagedProcess(
            name=name,
            argv=[str(REPO / service / "bin" / "start"), process_type],
            cwd=REPO / service,
            env={**self.service_env(service, name), **extra_env},
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


def stack_env(*, broker_url: str, database_url: str, port: int) -> dict[str, str]:
    # Nothing of the caller's own store (S3_*, *_S3_*) leaks into a stack.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "S3_")) and "_S3_" not in k
    }
    env.pop("MEDIA_ROOT", None)
    env.update(
        BROKER_URL=broker_url,
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        WEB_HOST="127.0.0.1",
        WEB_PORT=str(port),
        WEB_CONCURRENCY="2",
        OUTBOX_RELAY_INTERVAL="1",
        # A suite's one account uploads more clips in an hour than a person
        # would; the throttle itself is pinned by the web's own tests.
        API_THROTTLE_UPLOADS="10000/hour",
        API_THROTTLE_REQUESTS="100000/minute",
        # Every account is signed up from 127.0.0.1; the limit is pinned by
        # web_service/tests/accounts/test_login_limits.py.
        SIGNUP_RATE="10000/hour",
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
    broker_line: TcpLine | None = None,
    store: SeaweedFS | None = None,
    store_lines: Mapping[str, TcpLine] | None = None,
    **env_overrides: str,
) -> Iterator[Stack]:
    """Own vhost, database and object store; the processes in `start` running.

    With `broker_line`, every process (and the stack's own clients) reaches
    the broker through it, so a test can cut the broker off from this stack
    alone. `store_lines` does the same for the object store, per process
    name (lines made with `TcpLine.to(store.endpoint_url)`, so pass that
    `store` too): a test can cut or slow the worker's store alone. Playback
    URLs are always signed for the store itself.
    """
    with ExitStack() as cleanup:
        broker_url = cleanup.enter_context(rabbitmq_vhost())
        if broker_line is not None:
            broker_url = broker_line.url_through(broker_url)
        database_url = cleanup.enter_context(postgres_database())
        if store is None:
            store = cleanup.enter_context(seaweedfs_running(workdir / "s3"))
        port = free_port()
        env = stack_env(broker_url=broker_url, database_url=database_url, port=port)
        env.update(env_overrides)
        stack = Stack(
            base_url=f"http://127.0.0.1:{port}",
            env=env,
            workdir=workdir,
            store=store.admin,
            s3=store,
            store_lines=store_lines or {},
        )
        stack.scratch_dir.mkdir(exist_ok=True)
        for name, (service, process_type) in SERVICES.items():
            stack.process(name, service=service, process_type=process_type)
        cleanup.callback(stack.stop_all)
        release = subprocess.run(
            [str(REPO / "web_service" / "bin" / "start"), "release"],
            cwd=REPO / "web_service",
            env=stack.service_env("web_service"),
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
    """The stack someone else runs (docker compose).

    It needs E2E_BASE_URL, BROKER_URL, and the store as the web sees it:
    S3_ENDPOINT_URL, S3_BUCKET, WEB_S3_ACCESS_KEY_ID, WEB_S3_SECRET_ACCESS_KEY.
    The web's keys may write sources/ and list and read everything, which is
    all the e2e tests need to plant a source and check the outputs.
    """
    env = dict(os.environ)
    client = s3_client(
        env["S3_ENDPOINT_URL"], env["WEB_S3_ACCESS_KEY_ID"], env["WEB_S3_SECRET_ACCESS_KEY"]
    )
    stack = Stack(
        base_url=env["E2E_BASE_URL"].rstrip("/"),
        env=env,
        workdir=Path("."),
        store=BucketView(client, env["S3_BUCKET"]),
    )
    stack.wait_web()
    stack.wait_worker()
    yield stack
