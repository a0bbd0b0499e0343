"""The admin sits behind Django's login, and its job actions need CSRF like any form."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/videos/video/",
        "/admin/videos/job/",
        "/admin/django_celery_results/taskresult/",
    ],
)
def test_admin_pages_redirect_an_anonymous_visitor_to_the_login(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
