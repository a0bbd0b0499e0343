from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from django.test import Client, override_settings
from knox.models import AuthToken
from kombu import Connection, Consumer

from jobs.messaging import contract

from .factories import user_make
from .seaweedfs import SeaweedFS, seaweedfs_start


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Each run gets its own test database: test_<name>_<pid>.

    pytest-django's fixed test_<name> made two checkouts that ran these tests
    at once on one machine collide ("is being accessed by other users").
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def object_store() -> Iterator[SeaweedFS]:
    """One real SeaweedFS for the session; the web's S3 settings point at it.

    pytest-django imports the settings before any conftest runs, so the
    Makefile passes placeholders for the required S3 variables, and this
    fixture overrides them. That is enough because core/objectstore.py
    reads the settings at each call, never at import.
    """
    store = seaweedfs_start()
    overrides = override_settings(
        S3_ENDPOINT_URL=store.endpoint_url,
        S3_PUBLIC_ENDPOINT_URL=store.endpoint_url,
        S3_REGION="us-east-1",
        S3_BUCKET=store.bucket,
        WEB_S3_ACCESS_KEY_ID=store.web.access_key,
        WEB_S3_SECRET_ACCESS_KEY=store.web.secret_key,
    )
    overrides.enable()
    try:
        yield store
    finally:
        overrides.disable()
        store.stop()


@pytest.fixture
def transcoder_s3(object_store: SeaweedFS) -> Any:
    """A client with the transcoder's key: puts fake outputs, inspects sources."""
    return object_store.client(object_store.transcoder)


@pytest.fixture
def web_s3(object_store: SeaweedFS) -> Any:
    """A raw client with the web's key, to prove what that key may not do."""
    return object_store.client(object_store.web)


def source_keys(client: Any, bucket: str) -> list[str]:
    """Every object under sources/."""
    page = client.list_objects_v2(Bucket=bucket, Prefix="sources/")
    return [item["Key"] for item in page.get("Contents", [])]


def multipart_keys(client: Any, bucket: str) -> list[str]:
    """Every unfinished multipart upload under sources/."""
    page = client.list_multipart_uploads(Bucket=bucket, Prefix="sources/")
    return [upload["Key"] for upload in page.get("Uploads", [])]


@pytest.fixture
def empty_sources(object_store: SeaweedFS, transcoder_s3: Any) -> Iterator[None]:
    """Start a test with nothing under sources/, so it can assert what it leaves."""

    def clear() -> None:
        for upload in transcoder_s3.list_multipart_uploads(
            Bucket=object_store.bucket, Prefix="sources/"
        ).get("Uploads", []):
            # The web's key: only it may write (and so abort) under sources/.
            object_store.client(object_store.web).abort_multipart_upload(
                Bucket=object_store.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        for key in source_keys(transcoder_s3, object_store.bucket):
            object_store.client(object_store.web).delete_object(Bucket=object_store.bucket, Key=key)

    clear()
    yield
    clear()


@pytest.fixture
def memory_broker() -> Iterator[Connection]:
    """kombu's in-memory transport (BROKER_URL=memory:// in the Makefile).

    Its queues are process-global, so drain them between tests.
    """
    with Connection("memory://") as connection:
        yield connection
        channel = connection.default_channel
        for queue in list(getattr(channel, "queues", {}) or {}):
            channel._purge(queue)


class SentTask(NamedTuple):
    """One task message the web put on transcode_queue."""

    id: str
    task: str
    kwargs: dict[str, Any]


def transcode_queue_drain(connection: Connection) -> list[SentTask]:
    """Every message on transcode_queue, acked (so the queue is left empty)."""
    sent: list[SentTask] = []

    def on_message(body, message):
        sent.append(
            SentTask(message.headers["id"], message.headers["task"], json.loads(message.body)[1])
        )
        message.ack()

    with Consumer(
        connection.default_channel,
        queues=[contract.transcode_queue()],
        accept=["json"],
        callbacks=[on_message],
    ):
        while True:
            try:
                connection.drain_events(timeout=0.2)
            except TimeoutError:
                return sent


@pytest.fixture
def user(db) -> Any:
    return user_make(username="alice")


@pytest.fixture
def other_user(db) -> Any:
    return user_make(username="bob")


def logged_in_client(person: Any) -> tuple[Client, str]:
    """A browser's session for `person`, with CSRF enforced, and its CSRF token.

    The token comes from a page's form, as the page's JavaScript reads it.
    """
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    client.get("/")
    return client, client.cookies["csrftoken"].value


@pytest.fixture
def session(user) -> tuple[Client, str]:
    return logged_in_client(user)


@pytest.fixture
def token_client(user) -> Client:
    """A script's client: `Authorization: Token <key>`, no cookie, no CSRF token."""
    _, token = AuthToken.objects.create(user=user)
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token}")
