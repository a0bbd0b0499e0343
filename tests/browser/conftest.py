"""Playwright driving Debian's Chromium (Playwright's own browser download
cannot work on these machines)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.support.api import ApiClient
from tests.support.browser import (
    ChromiumMissing,
    chromium_context,
    csp_violations_watch,
    page_sign_in,
)
from tests.support.stack import Stack

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        with chromium_context(profile=profile, viewport={"width": 1100, "height": 800}) as context:
            yield context
    except ChromiumMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def signed_in(browser_context: BrowserContext, api: ApiClient, stack: Stack) -> BrowserContext:
    """The browser logged in through the login page, as the `api` fixture's person.

    One account for both, so what a test does through the API shows in the page.
    """
    api.headers()  # signs the account up
    page = browser_context.new_page()
    page_sign_in(page, base_url=stack.base_url, username=api.username, password=api.password)
    page.close()
    return browser_context


@pytest.fixture(scope="session")
def csp_violations(browser_context: BrowserContext) -> list[str]:
    """Every Content-Security-Policy violation in the browser's pages."""
    return csp_violations_watch(browser_context)


@pytest.fixture
def signed_out(
    browser_context: BrowserContext, csp_violations: list[str]
) -> Iterator[tuple[BrowserContext, list[str]]]:
    """The one browser, signed out for this test; its cookies are put back after.

    Not a second browser: Playwright's sync API runs one per process, so a
    browser of a test's own would work only if it came before the shared one.
    """
    saved = browser_context.cookies()
    browser_context.clear_cookies()
    csp_violations.clear()
    try:
        yield browser_context, csp_violations
    finally:
        browser_context.clear_cookies()
        browser_context.add_cookies(saved)


@pytest.fixture
def page(signed_in: BrowserContext, csp_violations: list[str]) -> Iterator[Page]:
    """A page of the signed-in browser. Whatever the test does in it (upload,
    watch, play), no Content-Security-Policy violation may happen."""
    csp_violations.clear()
    page = signed_in.new_page()
    yield page
    page.close()
    assert csp_violations == [], "the page broke its Content-Security-Policy"


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
