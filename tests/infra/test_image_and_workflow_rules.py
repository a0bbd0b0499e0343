"""Project rules for the Dockerfiles and the workflows that hadolint,
actionlint and the schemas don't check. Each rule is also shown to catch a
broken copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("web_service", "transcoder_service")
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


# ---- Dockerfiles -----------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#.*\n", "", text))
    pairs = []
    for line in text.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def dockerfile_problems(text: str, service_dir: Path) -> list[str]:
    steps = _instructions(text)
    keywords = [keyword for keyword, _ in steps]
    args = dict(reversed(steps))  # first occurrence of each instruction
    last = dict(steps)  # last occurrence
    problems = []

    # FROM ${PYTHON_IMAGE} is read as the ARG's default: the official image,
    # unless a build (tests/compose) passes a local stand-in.
    base = args.get("FROM", "")
    if variable := re.fullmatch(r"\$\{?(\w+)\}?", base):
        declared = dict(rest.split("=", 1) for k, rest in steps if k == "ARG" and "=" in rest)
        base = declared.get(variable.group(1), base)
    if not re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base):
        problems.append(f"base image must be a full python:3.11.N-slim-<debian> tag, got {base!r}")
    # The wheelhouse is optional: a plain build installs from the index.
    if re.search(r"(?m)^ARG WHEELHOUSE=\S", text) or "--no-index" in text.replace(
        "${WHEELHOUSE:+--no-index", ""
    ):
        problems.append("pip may skip the index only when WHEELHOUSE is set (default empty)")
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        if variable not in env:
            problems.append(f"ENV {variable} is missing")
    user = last.get("USER", "root")
    if user.split(":")[0] in ("root", "0"):
        problems.append("the image must run as a non-root USER")
    if "HEALTHCHECK" not in keywords:
        problems.append("no HEALTHCHECK")

    # Requirements are installed before the code is copied (layer caching).
    copies = [rest for keyword, rest in steps if keyword == "COPY"]
    if (
        not copies
        or "requirements.txt" not in copies[0]
        or not any(c.startswith(". ") for c in copies[1:])
    ):
        problems.append("COPY requirements.txt (and install) must come before COPY . .")

    # The default command is a process type of this service's Procfile.
    types = set(re.findall(r"(?m)^([A-Za-z0-9_-]+):", (service_dir / "Procfile").read_text()))
    try:
        command = json.loads(last.get("CMD", "null"))
    except json.JSONDecodeError:
        command = None
    if not (
        isinstance(command, list)
        and len(command) == 2
        and command[0] == "bin/start"
        and command[1] in types
    ):
        problems.append(
            f"CMD must be ['bin/start', TYPE] with TYPE in {sorted(types)}, got {last.get('CMD')!r}"
        )

    installs_ffmpeg = bool(re.search(r"apt-get install[^&;]*\bffmpeg\b", text))
    if installs_ffmpeg != (service_dir.name == "transcoder_service"):
        problems.append("ffmpeg must be installed in the transcoder image, and only there")
    return problems


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_keeps_the_project_rules(service):
    service_dir = REPO_ROOT / service
    assert dockerfile_problems((service_dir / "Dockerfile").read_text(), service_dir) == []


@pytest.mark.parametrize("service", SERVICES)
def test_dockerignore_keeps_local_state_out(service):
    # bin/start prefers ./.venv when present: a copied-in venv would win over
    # the image's own packages.
    ignored = (REPO_ROOT / service / ".dockerignore").read_text().split()
    assert ".venv/" in ignored or ".venv" in ignored
    assert ".env" in ignored
    # WHEELHOUSE=1 builds read wheelhouse/ from the context.
    assert not {"wheelhouse", "wheelhouse/", "wheelhouse*"} & set(ignored)
    if service == "web_service":
        # The old shared-disk tests' folder: local state, never image content.
        assert ".test-media/" in ignored or ".test-media" in ignored


@pytest.mark.parametrize(
    ("service", "old", "new", "expected"),
    [
        (
            "web_service",
            "ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm",
            "ARG PYTHON_IMAGE=python:3.11-slim",
            "full python",
        ),
        (
            "transcoder_service",
            "ARG WHEELHOUSE=\n",
            "ARG WHEELHOUSE=1\n",
            "only when WHEELHOUSE is set",
        ),
        ("web_service", "USER 10001:10001", "USER root", "non-root"),
        (
            "web_service",
            'CMD ["bin/start", "web"]',
            'CMD ["gunicorn", "config.wsgi"]',
            "CMD must be",
        ),
        (
            "transcoder_service",
            'CMD ["bin/start", "worker"]',
            'CMD ["bin/start", "web"]',
            "CMD must be",
        ),
        ("web_service", "PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=0", "PYTHONUNBUFFERED"),
        ("transcoder_service", "ffmpeg \\\n", "\\\n", "ffmpeg"),
        ("web_service", "COPY . .\n", "COPY . .\nRUN apt-get install -y ffmpeg\n", "ffmpeg"),
    ],
)
def test_dockerfile_rules_catch_a_broken_copy(tmp_path, service, old, new, expected):
    service_dir = REPO_ROOT / service
    text = (service_dir / "Dockerfile").read_text()
    assert old in text, f"the sample to break is gone from {service}/Dockerfile; update this test"
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new, 1))
    problems = dockerfile_problems(broken.read_text(), service_dir)
    assert any(expected in problem for problem in problems), problems


# ---- workflows -------------------------------------------------------------------

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflow_problems(text: str) -> list[str]:
    workflow = yaml.safe_load(text)
    problems = []
    if workflow.get("permissions") != {"contents": "read"}:
        problems.append("top-level permissions must be exactly {contents: read}")
    concurrency = workflow.get("concurrency") or {}
    group = concurrency.get("group")
    if group != "${{ github.workflow }}-${{ github.ref }}" or not concurrency.get(
        "cancel-in-progress"
    ):
        problems.append("concurrency must group by workflow and ref, and cancel in progress")
    for name, job in workflow.get("jobs", {}).items():
        if "timeout-minutes" not in job:
            problems.append(f"job {name}: no timeout-minutes")
    # Every action pinned to a full commit SHA, with the version as a comment.
    for match in re.finditer(r"(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text):
        action, comment = match.groups()
        if not PINNED.match(action) or not re.match(r"\s+# v\d+\.\d+\.\d+\s*$", comment):
            problems.append(f"{action}{comment}: pin by full commit SHA with a '# vX.Y.Z' comment")
    return problems


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_hardened(workflow):
    assert workflow_problems(workflow.read_text()) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            "actions/checkout@v4",
            "pin by full commit SHA",
        ),
        ("# v5.6.0", "", "pin by full commit SHA"),
        ("permissions:\n  contents: read", "permissions: write-all", "permissions"),
        ("    timeout-minutes: 10\n", "", "timeout-minutes"),
        ("cancel-in-progress: true", "cancel-in-progress: false", "concurrency"),
    ],
    ids=["unpinned", "no-version-comment", "write-all", "no-timeout", "no-cancel"],
)
def test_workflow_rules_catch_a_broken_copy(tmp_path, old, new, expected):
    text = (REPO_ROOT / ".github" / "workflows" / "web_service.yml").read_text()
    assert old in text
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new, 1))
    problems = workflow_problems(broken.read_text())
    assert any(expected in problem for problem in problems), problems
