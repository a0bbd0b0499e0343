"""The direct upload service on its own: part sizes, and abandoned uploads forgotten."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from ingest.models import Upload
from ingest.services.direct_uploads import (
    direct_upload_create,
    direct_upload_part_size,
    direct_uploads_forget_abandoned,
)
from jobs.consumers.collector import ResultCollector

from ...conftest import multipart_keys

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "part_size"),
    [
        (1, 8 * MiB),
        (128 * MiB, 8 * MiB),  # a sixteenth, at the floor
        (256 * MiB, 16 * MiB),
        (256 * MiB + 1, 17 * MiB),  # whole MiB
        (2 * 1024**3, 32 * MiB),  # the upload limit: capped
        (32 * MiB * 10_000, 32 * MiB),  # exactly 10,000 parts of 32 MiB
        (32 * MiB * 10_000 + 1, 32 * MiB + 1),  # one byte more: bigger parts, never 10,001
    ],
)
def test_parts_are_a_sixteenth_from_8_to_32_mib_or_what_10000_parts_need(size, part_size):
    assert direct_upload_part_size(size_bytes=size) == part_size
    assert -(-size // part_size) <= 10_000


def _upload(owner) -> Upload:
    return direct_upload_create(
        owner=owner, filename="a.mp4", size_bytes=10, content_type="video/mp4", title=""
    )


def test_rows_of_aborted_or_old_uploads_are_forgotten_and_young_ones_kept(user):
    aborted, old, young = _upload(user), _upload(user), _upload(user)
    Upload.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(hours=2))
    deleted = direct_uploads_forget_abandoned(
        older_than=timedelta(hours=1), aborted_keys=[aborted.key]
    )
    assert deleted == 2
    assert list(Upload.objects.values_list("pk", flat=True)) == [young.pk]


@pytest.mark.django_db(transaction=True)  # the collector closes its connection, as in production
def test_the_collectors_sweep_aborts_an_abandoned_upload_and_deletes_its_row(
    user, memory_broker, settings, object_store, transcoder_s3
):
    upload = _upload(user)
    settings.UPLOAD_ABANDONED_AFTER = 3600
    ResultCollector(connection=memory_broker, relay_interval=3600).on_iteration()
    assert Upload.objects.filter(pk=upload.pk).exists()  # still young

    time.sleep(1.1)  # the store's clock counts whole seconds
    settings.UPLOAD_ABANDONED_AFTER = 1
    ResultCollector(connection=memory_broker, relay_interval=3600).on_iteration()
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert not Upload.objects.exists()
