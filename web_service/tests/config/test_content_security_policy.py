"""Every response carries a Content-Security-Policy: no inline script or style,
no framing, and the store's origin only where the page really uses it.

That the page, hls.js, Uppy and the API docs work under it is checked in a
real browser: tests/browser/test_content_security_policy.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ..conftest import logged_in_client
from ..factories import hls_result, video_with_job

pytestmark = pytest.mark.django_db

SERVICE_DIR = Path(__file__).resolve().parents[2]
JOB_ID = "0b7e4c36-8f61-4d59-9a51-7d0c2f3e9a10"
# A script element without src= runs inline, unless it is JSON data (json_script's
# type="application/json"), which the browser never runs.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE
)
INLINE_HANDLER = re.compile(r"<[^>]+\s(?:on[a-z]+|style)\s*=", re.IGNORECASE)


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.status_code} {response.request}"
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], directive  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_every_kind_of_page_carries_the_policy(user):
    video, _ = video_with_job(
        owner=user, id=JOB_ID, status="ready", result=hls_result(job_id=JOB_ID)
    )
    client = logged_in_client(user)[0]
    responses = [
        client.get("/"),
        client.get(f"/videos/{video.id}/"),
        client.get("/api/videos/"),
        client.get("/api/docs/"),
        client.get("/no-such-page/"),
        Client().get("/accounts/login/"),
        Client().get("/accounts/signup/"),
        Client().get("/admin/login/"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 200, 200, 200]
    for response in responses:
        assert_strict(policy_of(response))
        if response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            # What the policy would refuse: the page would silently lose it.
            assert "<style" not in html, response.request["PATH_INFO"]
            assert not INLINE_SCRIPT.search(html), response.request["PATH_INFO"]
            assert not INLINE_HANDLER.search(html), response.request["PATH_INFO"]


def test_the_store_origin_is_allowed_only_for_media_images_and_connections(session):
    policy = policy_of(session[0].get("/"))
    store = settings.STORE_ORIGINS
    assert store, "the store's origin is not known"
    # hls.js: segments by fetch, MediaSource blob: URLs, its worker from a blob:.
    assert policy["media-src"] == ["'self'", "blob:", *store]
    assert policy["connect-src"] == ["'self'", *store]  # hls.js, and Uppy's part PUTs
    assert policy["img-src"] == ["'self'", "data:", *store]  # posters, preview sprites
    assert policy["worker-src"] == ["'self'", "blob:"]
    for directive in ("default-src", "script-src", "style-src", "worker-src"):
        assert not set(store) & set(policy[directive]), directive


def test_the_page_upload_refusal_carries_the_policy_too(session, settings):
    """A refusal written by a middleware before any view: it must be covered as well."""
    settings.UPLOAD_MAX_BYTES = 1024
    client, token = session
    response = client.post(
        "/", {"file": SimpleUploadedFile("a.mp4", b"x" * 200_000), "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 413
    assert_strict(policy_of(response))


def _store_origins(endpoint: str) -> str:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DJANGO_", "DATABASE_"))
    }
    env = {
        **clean,
        "DJANGO_SECRET_KEY": "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "videos.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/web_service",
        "S3_BUCKET": "videos",
        "S3_REGION": "eu-west-3",
        "S3_PUBLIC_ENDPOINT_URL": endpoint,
    }
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.STORE_ORIGINS)"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("endpoint", "origins"),
    [
        ("http://127.0.0.1:8333", "['http://127.0.0.1:8333']"),
        ("https://store.example.com/some/path/", "['https://store.example.com']"),
        ("/store/", "[]"),  # the web's own origin: 'self' covers it
        (
            "",
            "['https://videos.s3.amazonaws.com', 'https://videos.s3.eu-west-3.amazonaws.com']",
        ),
    ],
)
def test_the_store_origin_comes_from_the_public_endpoint(endpoint, origins):
    assert _store_origins(endpoint) == origins
