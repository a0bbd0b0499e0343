"""The API against its own OpenAPI schema: schemathesis, every check, the stateful phase too.

Schemathesis reads /api/schema/ from a live web and sends what the schema
allows (and what it forbids) with a person's token. Any answer the schema
does not list (a status, a field, a content type), any request the schema
calls valid that the API refuses, or the other way round, fails the run.
The run is bounded (examples per operation, a fixed seed) to stay near a
minute on two busy cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.stack import Stack, stack_running

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Small, so no generated upload can be large; a body over it is a 413 before
# it is read, which the schema documents.
UPLOAD_LIMIT = str(64 * 1024)


@pytest.fixture(scope="module")
def schema_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    # Only the web: uploads stay queued, which is all the API's answers need.
    with stack_running(
        tmp_path_factory.mktemp("schema"),
        start=("web",),
        # Hundreds of requests from one person and one address in a minute:
        # the throttles are pinned by the web's own tests, not here.
        API_THROTTLE_REQUESTS="100000/minute",
        API_THROTTLE_UPLOADS="100000/hour",
        LOGIN_FAILURE_LIMIT="100000",
        UPLOAD_MAX_BYTES=UPLOAD_LIMIT,
        USER_QUOTA_BYTES=str(1024**3),  # nothing near it is stored: files are <= 64 KiB
        USER_OPEN_UPLOADS_MAX="100000",
    ) as stack:
        yield stack


def test_the_api_answers_as_its_schema_says(schema_stack: Stack, tmp_path: Path):
    person = ApiClient(schema_stack.base_url)
    person.headers()  # signs up: the hooks trade its password for tokens
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{schema_stack.base_url}/api/schema/",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "15",
            "--seed",
            "25",
            # One: Python 3.11's ast.parse, which hypothesis calls to describe
            # a filter, is not thread-safe ("AST constructor recursion depth
            # mismatch" with two workers).
            "--workers",
            "1",
            "--request-timeout",
            "20",
            # Text with a NUL is refused, as the schema says in words only.
            "--generation-allow-x00",
            "false",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            "SCHEMA_TEST_BASE_URL": schema_stack.base_url,
            "SCHEMA_TEST_USERNAME": person.username,
            "SCHEMA_TEST_PASSWORD": person.password,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    failures = f"{run.stdout[-20000:]}\n{run.stderr[-3000:]}\n{schema_stack.logs()}"
    assert run.returncode == 0, failures
    # Each generating phase ran and passed (a skipped one says so instead);
    # "examples" has nothing to run while the schema gives no examples.
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase} \(in ", run.stdout), (phase, run.stdout)
