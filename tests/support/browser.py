"""Debian's Chromium, as the browser tests and the bench drive it through Playwright
(Playwright's own browser download cannot work on these machines)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless, and nothing that phones home: this machine has no network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ChromiumMissing(RuntimeError):
    pass


@contextlib.contextmanager
def chromium_context(*, profile: Path, **options: Any) -> Iterator[BrowserContext]:
    """Chromium with its profile in `profile`, closed when the block ends.

    A profile on disk, as a person's: the page's GoldenRetriever keeps a file
    in IndexedDB, which an incognito context would hold in memory only.
    `options` go to Playwright's `launch_persistent_context` (a viewport, say).
    """
    if not shutil.which(CHROMIUM):
        raise ChromiumMissing(
            f"Chromium not found at {CHROMIUM}: run `make setup` (it installs chromium)."
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **options
        )
        try:
            yield context
        finally:
            context.close()


def page_sign_in(page: Page, *, base_url: str, username: str, password: str) -> None:
    """Sign in through the login page, where an anonymous visitor to `base_url` lands."""
    page.goto(f"{base_url}/", wait_until="domcontentloaded")
    if "/accounts/login/" not in page.url:
        raise AssertionError(f"an anonymous visitor was not sent to the login page: {page.url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("form [type=submit]")
    if page.url.rstrip("/") != base_url:
        raise AssertionError(f"signing in led to {page.url}, not {base_url}")
