"""The boto3 adapter against a real SeaweedFS, with the real least-privilege identities."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from transcoder.errors import InvalidMedia, InvalidPayload, StorageDenied, StorageError
from transcoder.objectstore import MIB, ObjectStore, store_connect
from transcoder.settings import Settings

from .seaweed import SeaweedStore, _free_port_pairs
from .support import keys_under, make_settings, object_bytes, source_put


def no_progress(done: int, total: int) -> None:
    pass


def download_with(settings: Settings, *, key: str, target: Path, max_bytes: int = 10**6) -> int:
    """A source download through a store built from these (broken) settings."""
    return store_connect(settings=settings).source_download(
        key=key, target=target, max_bytes=max_bytes, on_progress=no_progress
    )


@pytest.fixture
def source_key(seaweed: SeaweedStore, tmp_path: Path) -> str:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"v" * 3000)
    return source_put(seaweed, path)


@pytest.fixture
def prefix() -> str:
    return f"outputs/store-test-{uuid.uuid4().hex[:8]}/"


def test_download_streams_the_source(store: ObjectStore, source_key: str, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    target = tmp_path / "source.mp4"
    size = store.source_download(
        key=source_key,
        target=target,
        max_bytes=3000,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert size == 3000
    assert target.read_bytes() == b"v" * 3000
    assert progress[-1] == (3000, 3000)


def test_a_missing_source_is_invalid_payload(store: ObjectStore, tmp_path: Path) -> None:
    target = tmp_path / "source.mp4"
    with pytest.raises(InvalidPayload) as caught:
        store.source_download(
            key="sources/nope.mp4", target=target, max_bytes=100, on_progress=no_progress
        )
    assert caught.value.message == "The source object 'sources/nope.mp4' does not exist."
    assert not target.exists()


def test_an_oversized_source_stops_before_its_first_byte(
    store: ObjectStore, source_key: str, tmp_path: Path
) -> None:
    progress: list[int] = []
    target = tmp_path / "source.mp4"
    with pytest.raises(InvalidMedia) as caught:
        store.source_download(
            key=source_key,
            target=target,
            max_bytes=2999,
            on_progress=lambda done, total: progress.append(done),
        )
    assert caught.value.message == "The file is too large: 3000 bytes, the limit is 2999."
    assert progress == []  # not one chunk was read
    assert not target.exists()


def test_a_full_scratch_disk_is_a_storage_error(
    store: ObjectStore, source_key: str, tmp_path: Path
) -> None:
    # /dev/full answers every write with ENOSPC, as a full disk does.
    target = tmp_path / "source.mp4"
    target.symlink_to("/dev/full")
    with pytest.raises(StorageError) as caught:
        store.source_download(
            key=source_key, target=target, max_bytes=3000, on_progress=no_progress
        )
    assert caught.value.message == (
        "The worker's scratch disk failed while downloading the source: No space left on device."
    )
    assert not target.is_symlink()  # the partial target is removed (not /dev/full)
    assert Path("/dev/full").exists()


def test_the_transcoder_cannot_overwrite_or_delete_a_source(
    store: ObjectStore, seaweed: SeaweedStore, source_key: str, tmp_path: Path
) -> None:
    raw = seaweed.client(seaweed.transcoder)
    for attempt in (
        lambda: raw.put_object(Bucket=seaweed.bucket, Key=source_key, Body=b"evil"),
        lambda: raw.delete_object(Bucket=seaweed.bucket, Key=source_key),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Through the adapter, the same refusals are StorageDenied.
    evil = tmp_path / "evil.mp4"
    evil.write_bytes(b"evil")
    with pytest.raises(StorageDenied) as denied:
        store.output_upload(path=evil, key=source_key, content_type="video/mp4")
    assert denied.value.message.startswith(
        f"The object store refused the transcoder's credentials while uploading {source_key!r}: "
    )
    with pytest.raises(StorageDenied, match="while deleting"):
        store.prefix_delete(prefix=source_key.rsplit("/", 1)[0] + "/")
    assert object_bytes(seaweed, source_key) == b"v" * 3000


def test_the_web_cannot_write_outputs(seaweed: SeaweedStore, prefix: str) -> None:
    web = seaweed.client(seaweed.web)
    with pytest.raises(ClientError) as caught:
        web.put_object(Bucket=seaweed.bucket, Key=f"{prefix}720p.mp4", Body=b"x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_credentials_the_store_refuses_are_storage_denied(
    seaweed: SeaweedStore, scratch_dir: Path, source_key: str, tmp_path: Path
) -> None:
    settings = make_settings(seaweed, scratch_dir, TRANSCODER_S3_SECRET_ACCESS_KEY="wrong")
    with pytest.raises(StorageDenied) as caught:
        download_with(settings, key=source_key, target=tmp_path / "s")
    message = caught.value.message
    assert message == (
        f"The object store refused the transcoder's credentials while reading the source "
        f"{source_key!r}: check TRANSCODER_S3_ACCESS_KEY_ID and the bucket's permissions "
        "(docs/storage.md)."
    )
    assert seaweed.endpoint_url not in message
    assert str(tmp_path) not in message


def test_an_unreachable_store_is_a_storage_error(
    seaweed: SeaweedStore, scratch_dir: Path, tmp_path: Path
) -> None:
    (port,) = _free_port_pairs(1)  # nothing listens there
    endpoint = f"http://127.0.0.1:{port}"
    settings = make_settings(seaweed, scratch_dir, S3_ENDPOINT_URL=endpoint)
    with pytest.raises(StorageError) as caught:
        download_with(settings, key="sources/a.mp4", target=tmp_path / "s", max_bytes=100)
    assert caught.value.message == (
        "The object store could not be reached while reading the source 'sources/a.mp4'."
    )
    assert not (tmp_path / "s").exists()


def test_upload_checks_the_size_and_goes_multipart_above_8_mib(
    store: ObjectStore, seaweed: SeaweedStore, prefix: str, tmp_path: Path
) -> None:
    small, large = tmp_path / "poster.jpg", tmp_path / "720p.mp4"
    small.write_bytes(b"\xff\xd8\xff" + b"j" * 100)
    large.write_bytes(os.urandom(9 * MIB))
    store.output_upload(path=small, key=f"{prefix}poster.jpg", content_type="image/jpeg")
    store.output_upload(path=large, key=f"{prefix}720p.mp4", content_type="video/mp4")
    assert keys_under(seaweed, prefix) == {f"{prefix}poster.jpg": 103, f"{prefix}720p.mp4": 9 * MIB}
    head = seaweed.client(seaweed.transcoder).head_object(
        Bucket=seaweed.bucket, Key=f"{prefix}720p.mp4"
    )
    assert head["ContentType"] == "video/mp4"
    assert head["ETag"].strip('"').endswith("-2")  # two 8 MiB parts: a multipart upload
    assert object_bytes(seaweed, f"{prefix}720p.mp4") == large.read_bytes()
    assert store.object_size(key=f"{prefix}absent.mp4") is None


def test_a_conditional_create_is_granted_once(
    store: ObjectStore, seaweed: SeaweedStore, prefix: str
) -> None:
    key = f"{prefix}manifest.json"
    assert store.json_create(key=key, body=b'{"first": true}') is True
    assert store.json_create(key=key, body=b'{"second": true}') is False
    assert store.json_read(key=key) == b'{"first": true}'
    assert store.json_read(key=f"{prefix}absent.json") is None


def test_prefix_delete_removes_objects_and_unfinished_uploads(
    store: ObjectStore, seaweed: SeaweedStore, prefix: str
) -> None:
    raw = seaweed.client(seaweed.transcoder)
    for name in ("manifest.json", "a/720p.mp4", "a/poster.jpg", "b/720p.mp4"):
        raw.put_object(Bucket=seaweed.bucket, Key=f"{prefix}{name}", Body=b"x")
    neighbour = prefix.rstrip("/") + "-other/720p.mp4"  # shares the name's start only
    raw.put_object(Bucket=seaweed.bucket, Key=neighbour, Body=b"x")
    upload = raw.create_multipart_upload(Bucket=seaweed.bucket, Key=f"{prefix}c/720p.mp4")
    raw.upload_part(
        Bucket=seaweed.bucket,
        Key=f"{prefix}c/720p.mp4",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"p" * 1024,
    )

    deleted = store.prefix_delete(prefix=prefix, first=f"{prefix}manifest.json")

    assert deleted == 4
    assert keys_under(seaweed, prefix) == {}
    assert raw.list_multipart_uploads(Bucket=seaweed.bucket, Prefix=prefix).get("Uploads") in (
        None,
        [],
    )
    assert keys_under(seaweed, neighbour) == {neighbour: 1}
    # Idempotent: nothing left, nothing to do, no error.
    assert store.prefix_delete(prefix=prefix, first=f"{prefix}manifest.json") == 0


def test_a_wrong_bucket_is_never_reported_as_a_missing_source(
    seaweed: SeaweedStore, scratch_dir: Path, source_key: str, tmp_path: Path
) -> None:
    # SeaweedFS, like AWS for a bucket the key has no rights on, answers 403:
    # a configuration error for a person, not a fault of the message.
    settings = make_settings(seaweed, scratch_dir, S3_BUCKET="no-such-bucket-here")
    with pytest.raises(StorageDenied) as caught:
        download_with(settings, key=source_key, target=tmp_path / "s")
    assert "refused the transcoder's credentials" in caught.value.message
