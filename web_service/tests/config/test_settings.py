"""Production settings come from the environment; required values have no default.

Each case imports the settings in a fresh interpreter, because Django reads
them once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "DJANGO_ALLOWED_HOSTS": "videos.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/web_service",
    "S3_BUCKET": "videos",
    "WEB_S3_ACCESS_KEY_ID": "web-key",
    "WEB_S3_SECRET_ACCESS_KEY": "web-secret",
}
REQUIRED = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "S3_BUCKET",
    "WEB_S3_ACCESS_KEY_ID",
    "WEB_S3_SECRET_ACCESS_KEY",
]


def _settings(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "S3_", "WEB_S3_", "UPLOAD_"))
    }
    return subprocess.run(
        [sys.executable, "-c", f"from config import settings; print({expression})"],
        cwd=SERVICE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_defaults_are_safe():
    result = _settings(PRODUCTION, "settings.DEBUG, settings.ALLOWED_HOSTS")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['videos.example.com']"


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_required_value_stops_start_up_with_its_name(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _settings(env, "settings.DEBUG")
    assert result.returncode != 0
    assert f"The environment variable {missing} is required (see .env.example)." in result.stderr


def test_debug_falls_back_to_local_hosts_only():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = _settings({**env, "DJANGO_DEBUG": "1"}, "settings.ALLOWED_HOSTS")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['localhost', '127.0.0.1', '[::1]']"


def test_object_store_defaults():
    result = _settings(
        PRODUCTION,
        "(settings.S3_ENDPOINT_URL, settings.S3_REGION, settings.S3_PUBLIC_ENDPOINT_URL,"
        " settings.S3_PRESIGN_SECONDS, settings.UPLOAD_ABANDONED_AFTER)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('', 'us-east-1', '', 300, 3600)"


def test_the_public_endpoint_defaults_to_the_endpoint():
    env = {**PRODUCTION, "S3_ENDPOINT_URL": "http://store:8333"}
    result = _settings(env, "settings.S3_PUBLIC_ENDPOINT_URL")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://store:8333"


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "(3, 60)"), ({"S3_CONNECT_TIMEOUT": "1", "S3_READ_TIMEOUT": "2"}, "(1, 2)")],
)
def test_the_store_client_takes_its_timeouts_from_the_environment(env, expected):
    # The client's own config, so a Config(...) that ignored the settings shows.
    result = _settings(
        {**PRODUCTION, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        "__import__('django').setup() or (lambda c: (c.connect_timeout, c.read_timeout))"
        "(__import__('core.objectstore').objectstore.client().meta.config)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_there_is_no_shared_media_disk_any_more():
    result = _settings(
        PRODUCTION, "(hasattr(settings, 'MEDIA_ROOT'), settings.FILE_UPLOAD_HANDLERS)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "(False, ['ingest.upload_handlers.SizeLimitedUploadHandler',"
        " 'ingest.upload_handlers.ObjectStoreUploadHandler'])"
    )


# Production as docs/running.md describes it: behind a TLS-terminating proxy
# (DJANGO_HTTPS=1), with a real secret key (check --deploy refuses a short or
# repetitive one, like the placeholder above).
DEPLOYED = {
    **PRODUCTION,
    "DJANGO_SECRET_KEY": "f3Kq9-xV2pLr8ZtW4yNc7Hb1Md6Js0Ug5Ea_Yo2Ti8RwPn4XlQe7",
    "DJANGO_HTTPS": "1",
}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "S3_", "WEB_S3_", "UPLOAD_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployment_checklist_passes_in_production():
    # Every warning counts: --fail-level WARNING exits 1 on the first one.
    result = _manage(DEPLOYED, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_https_switches_on_secure_cookies_redirect_hsts_and_the_proxy_header():
    result = _settings(
        DEPLOYED,
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS,"
        " settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_PROXY_SSL_HEADER",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_plain_http_by_default_for_make_run_and_compose_on_localhost():
    # Secure cookies on http://localhost would never come back: no login.
    env = {k: v for k, v in DEPLOYED.items() if k != "DJANGO_HTTPS"}
    result = _settings(
        env,
        "settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT,"
        " settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False 0 None"


@pytest.mark.parametrize(
    "setting", ["DEFAULT_PAGINATION_CLASS", "DEFAULT_THROTTLE_CLASSES", "EXCEPTION_HANDLER"]
)
def test_each_api_class_the_settings_name_imports_first_in_a_fresh_process(setting):
    # DRF imports these lazily, in whatever order a command touches them
    # (`migrate` runs DRF's pagination check before anything loads a view):
    # each must import on its own, with no circular import through
    # rest_framework.views, which reads DEFAULT_THROTTLE_CLASSES.
    code = (
        "import django; django.setup(); "
        "from rest_framework.settings import api_settings; "
        f"value = api_settings.{setting}; "
        "values = value if isinstance(value, list) else [value]; "
        "print(*(v.__module__ for v in values))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "S3_", "WEB_S3_", "UPLOAD_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=SERVICE_DIR,
        env={**clean, **DEPLOYED, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()
    assert set(result.stdout.split()) == {"videos.views.rest"}


def test_each_run_has_its_own_test_database(db) -> None:
    """Two checkouts testing at once on one machine must not share a database."""
    from django.db import connection

    assert connection.settings_dict["NAME"].endswith(f"_{os.getpid()}")
