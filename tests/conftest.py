"""Fixtures shared by the repository-level suites (e2e, browser, faults, multihost).

Session-scoped and lazy: the stack starts only for the suites that ask.
`make test-repo PYTEST_ARGS="-n auto --dist loadgroup"` runs the suites on
every core (pytest-xdist); `pytest_collection_modifyitems` below keeps
together what must run in one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.media import clip_make
from tests.support.stack import Stack, stack_external, stack_running

TESTS = Path(__file__).resolve().parent

# Suites whose tests run in one process, one after another, under xdist:
# - e2e and browser share the session's `stack`, which would otherwise start
#   once per process;
# - compose and multihost change the host's network (dockerd rewrites
#   iptables and forwarding until it stops; multihost adds namespaces and
#   veths), and compose's package-scoped stack must start once.
# Every other test (faults, bin, infra, bench) goes to whichever process is free.
XDIST_GROUPS = {"e2e": "stack", "browser": "stack", "compose": "host", "multihost": "host"}


# tryfirst: xdist reads the groups in its own hook of that name, which would
# otherwise run before this one.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = XDIST_GROUPS.get(item.path.relative_to(TESTS).parts[0])
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test (`item.report_call`, ...), so a
    fixture can see at teardown whether the test failed and print the
    services' logs (the pattern from pytest's own docs; faults, multihost)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running system: started here, or an external one (E2E_BASE_URL)."""
    if os.environ.get("E2E_BASE_URL"):
        with stack_external() as external:
            yield external
        return
    with stack_running(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> ApiClient:
    return ApiClient(stack.base_url)


@pytest.fixture(scope="session")
def clip_10s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip_make(tmp_path_factory.mktemp("clips") / "ten-seconds.mp4", seconds=10)
