"""The login and sign-up pages as a person sees them."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext

from tests.support.stack import Stack

# What makes a field look like the page's own, not the browser's default.
LOOKS = "width, backgroundColor, color, borderRadius, paddingTop"


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_the_password_field_looks_like_the_username_field(
    signed_out: tuple[BrowserContext, list[str]], stack: Stack, path: str
) -> None:
    page = signed_out[0].new_page()
    try:
        page.goto(stack.base_url + path, wait_until="domcontentloaded")
        looks = page.evaluate(
            """(names) => ['input[name=username]', 'input[type=password]'].map((selector) => {
                const style = getComputedStyle(document.querySelector(selector));
                return Object.fromEntries(names.map((name) => [name, style[name]]));
            })""",
            [name.strip() for name in LOOKS.split(",")],
        )
    finally:
        page.close()
    username, password = looks
    assert password == username
