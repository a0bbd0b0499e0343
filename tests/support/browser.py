"""Debian's Chromium, as the browser tests and the bench drive it through Playwright
(Playwright's own browser download cannot work on these machines)."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

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


_playwright: Playwright | None = None


def _playwright_started() -> Playwright:
    """The process's one Playwright, started at first use and stopped at exit.

    Playwright's sync API runs an event loop on this thread, and a second
    `sync_playwright()` while one is open fails ("using Playwright Sync API
    inside the asyncio loop"): the browser suite's session-long context and
    a fault test's own browser, in one pytest process, must share it.
    """
    global _playwright
    if _playwright is None:
        _playwright = sync_playwright().start()
        atexit.register(_playwright.stop)
    return _playwright


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
    context = _playwright_started().chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **options
    )
    for page in context.pages:
        _waits_without_eval(page)
    context.on("page", _waits_without_eval)
    try:
        yield context
    finally:
        context.close()


# The site's Content-Security-Policy refuses eval(). Playwright's
# wait_for_function evaluates an *expression* with eval at every poll (which
# only its first call may do, from DevTools), and a *function* once. So the
# pages of these contexts send every expression as an arrow function.
_FUNCTION = re.compile(r"\s*(async\s+)?(function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)")


def _waits_without_eval(page: Page) -> None:
    wait = page.wait_for_function

    def wait_for_function(expression: str, *args: Any, **kwargs: Any) -> Any:
        if not _FUNCTION.match(expression):
            expression = f"() => ({expression})"
        return wait(expression, *args, **kwargs)

    page.wait_for_function = wait_for_function  # type: ignore[method-assign]


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


# Chromium logs a violation to the console itself ("Refused to ... because it
# violates the following Content Security Policy directive"); the event adds
# the directive and the blocked URL, for violations it does not log.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => console.error(
  "CSP violation: " + event.effectiveDirective + " blocked " + (event.blockedURI || "inline")
  + " at " + event.sourceFile + ":" + event.lineNumber));
"""


def csp_violations_watch(context: BrowserContext) -> list[str]:
    """A list that collects every Content-Security-Policy violation of the
    context's pages opened from now on (each console report of one)."""
    seen: list[str] = []
    context.add_init_script(_CSP_REPORTER)

    def on_console(message: Any) -> None:
        text = message.text
        if text.startswith("CSP violation:") or "Content Security Policy" in text:
            seen.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", on_console)
    return seen
