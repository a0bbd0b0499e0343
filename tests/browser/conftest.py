"""Playwright driving Debian's Chromium (Playwright's own browser download
cannot work on these machines)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.support.api import ApiClient
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.stack import Stack

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make setup` (it installs chromium).")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 800},
        )
        yield context
        context.close()


@pytest.fixture(scope="session")
def signed_in(browser_context: BrowserContext, api: ApiClient, stack: Stack) -> BrowserContext:
    """The browser logged in through the login page, as the `api` fixture's person.

    One account for both, so what a test does through the API shows in the page.
    """
    api.headers()  # signs the account up
    page = browser_context.new_page()
    page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    assert "/accounts/login/" in page.url  # the anonymous visitor meets the login page
    page.fill("input[name=username]", api.username)
    page.fill("input[name=password]", api.password)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("form [type=submit]")
    assert page.url.rstrip("/") == stack.base_url, page.url
    page.close()
    return browser_context


@pytest.fixture
def page(signed_in: BrowserContext) -> Iterator[Page]:
    page = signed_in.new_page()
    yield page
    page.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
