"""Each workflow job has what its own commands need.

- A job that runs pytest directly can collect its tests with only the Python
  packages it installs: pytest is run here in a subprocess where every other
  installed distribution is hidden (imports fail as on a fresh runner). The
  infra job once installed only tests/infra/requirements.txt, while pytest
  also loads tests/conftest.py, which imports celery, psycopg2 and boto3.
- A job that sets up or runs the repository's suites installs ffmpeg first
  (`make setup` checks for it, and the suites generate clips with it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PIP_REQUIREMENT = re.compile(r"pip install\b[^\n]*?(?:--requirement|-r)[ =](\S+)")
PYTEST = re.compile(r"(?m)^\s*(?:python -m )?pytest\b(.*)$")
NEEDS_FFMPEG = re.compile(r"\bmake\b(?!.*-C web_service)[^\n]*\b(setup|test|test-e2e|venv)\b")
INSTALLS_FFMPEG = re.compile(r"apt-get install\b[^\n]*\bffmpeg\b")

# Run in the subprocess: hide every distribution the job does not install.
HIDE = """
import importlib.abc, importlib.metadata, re, sys
allowed = set(sys.argv[1].split(","))
owners = importlib.metadata.packages_distributions()
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in owners and not any(norm(d) in allowed for d in owners[top]):
            raise ModuleNotFoundError(
                f"No module named {top!r} (not installed by the job)", name=top
            )
sys.meta_path.insert(0, Hide())
import pytest
sys.exit(pytest.main(sys.argv[2:]))
"""


def requirement_names(path: Path) -> set[str]:
    """Distributions named in a requirements file, following its `-r` includes."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            names |= requirement_names(path.parent / line.split(None, 1)[1])
        elif line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def with_dependencies(names: set[str]) -> set[str]:
    """`names` and everything they require, as installed here (extras left out)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing of it can be imported anyway
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def pytest_jobs(workflow: dict) -> list[tuple[str, set[str], list[str]]]:
    """(job, distributions it installs, pytest arguments) per pytest run of each job."""
    found = []
    for name, job in workflow["jobs"].items():
        runs = "\n".join(step.get("run", "") for step in job.get("steps", []))
        installed = {"pip"}
        for requirement_file in PIP_REQUIREMENT.findall(runs):
            installed |= requirement_names(REPO_ROOT / requirement_file)
        for match in PYTEST.finditer(runs):
            found.append((name, with_dependencies(installed), match.group(1).split()))
    return found


def collect_as_the_job(installed: set[str], arguments: list[str]) -> subprocess.CompletedProcess:
    # Plugins load only when their distribution is installed, as on the runner.
    plugins = []
    for entry in metadata.entry_points(group="pytest11"):
        if entry.dist and canonicalize_name(entry.dist.name) in installed:
            plugins += ["-p", entry.module]
    argv = [*plugins, *arguments, "--collect-only", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-c", HIDE, ",".join(sorted(installed)), *argv],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


JOBS = [
    pytest.param(installed, arguments, id=f"{path.name}:{job}")
    for path in sorted(WORKFLOWS.glob("*.yml"))
    for job, installed, arguments in pytest_jobs(yaml.safe_load(path.read_text()))
]


def test_some_job_runs_pytest_directly():
    assert any("infra" in str(job.id) for job in JOBS), JOBS


@pytest.mark.parametrize(("installed", "arguments"), JOBS)
def test_a_job_collects_its_tests_with_only_what_it_installs(installed, arguments):
    result = collect_as_the_job(installed, arguments)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " collected" in result.stdout or "tests collected" in result.stdout, result.stdout


def test_the_check_catches_a_job_that_installs_too_little():
    # infra.yml as it was: the infra tools only, not what tests/conftest.py imports.
    installed = with_dependencies(requirement_names(REPO_ROOT / "tests/infra/requirements.txt"))
    result = collect_as_the_job(installed | {"pip"}, ["tests/infra"])
    assert result.returncode != 0
    assert "No module named" in result.stdout + result.stderr, result.stdout[-3000:]


def ffmpeg_problems(workflow: dict) -> list[str]:
    problems = []
    for name, job in workflow["jobs"].items():
        installed = False
        for step in job.get("steps", []):
            run = step.get("run", "")
            installed = installed or bool(INSTALLS_FFMPEG.search(run))
            if NEEDS_FFMPEG.search(run) and not installed:
                problems.append(
                    f"job {name}: {run.strip()!r} needs ffmpeg, installed in no step before"
                )
    return problems


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_jobs_install_ffmpeg_before_they_need_it(path):
    assert ffmpeg_problems(yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", ["e2e-native.yml", "e2e-compose.yml", "transcoder_service.yml"])
def test_the_ffmpeg_check_catches_a_job_without_it(path):
    workflow = yaml.safe_load((WORKFLOWS / path).read_text())
    for job in workflow["jobs"].values():
        job["steps"] = [s for s in job["steps"] if not INSTALLS_FFMPEG.search(s.get("run", ""))]
    assert ffmpeg_problems(workflow), path


# What each suite's command needs running beside it; tests/broker.py and the
# web's conftest fail (not skip) without them under CI=true, as GitHub sets.
SUITE_NEEDS = [
    (re.compile(r"make -C transcoder_service test\b"), {"rabbitmq"}),
    (re.compile(r"make -C web_service (test|migrations-check)\b"), {"postgres"}),
    (
        re.compile(r"make test-e2e\b|pytest tests/(e2e|multihost|faults|browser)\b"),
        {"rabbitmq", "postgres"},
    ),
    (re.compile(r"\.ci/run\b|make bench\b"), {"rabbitmq", "postgres"}),
]
# A service container's image, an apt package installed in a step, or the
# compose stack started in a step (it runs both).
COMPOSE_UP = re.compile(r"docker.compose up\b")
PROVIDERS = {"rabbitmq": ("rabbitmq", "rabbitmq-server"), "postgres": ("postgres", "postgresql")}


def service_problems(workflow: dict) -> list[str]:
    problems = []
    for name, job in workflow["jobs"].items():
        images = [service["image"].split(":")[0] for service in job.get("services", {}).values()]
        installs = " ".join(
            step.get("run", "")
            for step in job.get("steps", [])
            if "apt-get install" in step.get("run", "")
        ).split()
        composed = any(COMPOSE_UP.search(step.get("run", "")) for step in job.get("steps", []))
        provided = {
            service
            for service, (image, package) in PROVIDERS.items()
            if image in images or package in installs or composed
        }
        for step in job.get("steps", []):
            for command, needs in SUITE_NEEDS:
                if command.search(step.get("run", "")) and not needs <= provided:
                    problems.append(
                        f"job {name}: {step['run'].strip()!r} needs {sorted(needs - provided)}"
                    )
    return problems


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_jobs_provide_the_services_their_suites_need(path):
    assert service_problems(yaml.safe_load(path.read_text())) == []


def test_the_services_check_catches_a_job_without_its_broker():
    # transcoder_service.yml as it was: its broker tests with no RabbitMQ.
    workflow = yaml.safe_load((WORKFLOWS / "transcoder_service.yml").read_text())
    del workflow["jobs"]["test"]["services"]
    assert service_problems(workflow) == [
        "job test: 'make -C transcoder_service test' needs ['rabbitmq']"
    ]


def test_faults_browser_and_bench_run_on_github():
    runs = "\n".join(
        step.get("run", "")
        for path in WORKFLOWS.glob("*.yml")
        for job in yaml.safe_load(path.read_text())["jobs"].values()
        for step in job.get("steps", [])
    )
    assert re.search(r"\.ci/run\b", runs)  # make test: faults and browser included
    assert re.search(r"make bench\b", runs)
