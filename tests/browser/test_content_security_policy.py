"""The Content-Security-Policy is in force in a real browser, and what the site
serves works under it.

Every test of this folder that takes the `page` fixture (conftest.py) fails on
any violation: uploading with Uppy (test_web_ui.py, test_resumable_upload.py),
watching and playing with hls.js (test_hls_player.py). Here: the policy is
really enforced, and the pages the other tests do not visit work under it.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.stack import Stack

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = 'ran'";
  document.head.appendChild(script);
  return window.injected || null;
}"""


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_the_login_and_sign_up_pages_work_under_the_policy(signed_out, stack: Stack, path: str):
    context, violations = signed_out
    violations.clear()
    page = context.new_page()
    try:
        response = page.goto(f"{stack.base_url}{path}", wait_until="load")
        assert "script-src 'self'" in response.headers.get("content-security-policy", "")
        expect(page.locator("input[name=username]")).to_be_visible()
        page.wait_for_load_state("networkidle")
    finally:
        page.close()
    assert violations == []


def _wait_reported(violations: list[str], page: Page, timeout_s: float = 10) -> None:
    """Until the page's `securitypolicyviolation` event is reported: it comes
    last, after Chromium's own console message about the same refusal."""
    deadline = time.monotonic() + timeout_s
    while not any("CSP violation:" in v for v in violations) and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # lets Playwright deliver the console events


def test_an_injected_inline_script_does_not_run(page: Page, stack: Stack, csp_violations):
    response = page.goto(f"{stack.base_url}/", wait_until="domcontentloaded")
    header = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in header, header
    assert page.evaluate(INJECT) is None, "an inline script ran on the page"
    _wait_reported(csp_violations, page)
    assert any("script-src" in violation for violation in csp_violations), csp_violations
    csp_violations.clear()  # provoked on purpose: the fixture checks for any other


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/docs/", ".swagger-ui .opblock"),  # Swagger UI, its schema loaded
        ("/accounts/password_change/", "input[name=new_password1]"),
        ("/admin/login/", "#login-form"),
        ("/no-such-page/", "body"),
    ],
)
def test_the_other_pages_work_under_the_policy(page: Page, stack: Stack, path: str, shown: str):
    response = page.goto(f"{stack.base_url}{path}", wait_until="load")
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    expect(page.locator(shown).first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")
    # The `page` fixture asserts that nothing was refused.
