"""The login and sign-up pages as a person sees them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext

from tests.support.browser import chromium_context
from tests.support.stack import Stack

# What makes a field look like the page's own, not the browser's default.
LOOKS = "width, backgroundColor, color, borderRadius, paddingTop"


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A browser of its own: the session's shared one is signed in, and a
    signed-in person is sent from these pages to their videos."""
    with chromium_context(profile=tmp_path_factory.mktemp("anonymous-profile")) as context:
        yield context


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_the_password_field_looks_like_the_username_field(
    anonymous: BrowserContext, stack: Stack, path: str
) -> None:
    page = anonymous.new_page()
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
