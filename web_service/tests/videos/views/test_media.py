from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def output_file(media_root):
    path = media_root / "outputs" / "job" / "720p.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(range(256)) * 4)  # 1024 bytes
    (media_root / "sources").mkdir()
    (media_root / "sources" / "secret").write_bytes(b"private")
    return path


def test_full_file(output_file):
    response = Client().get("/media/outputs/job/720p.mp4")
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == output_file.read_bytes()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-4", 1020, 1023),
        ("bytes=10-5000", 10, 1023),
    ],
)
def test_ranges(output_file, header, start, end):
    response = Client().get("/media/outputs/job/720p.mp4", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/1024"
    assert b"".join(response.streaming_content) == output_file.read_bytes()[start : end + 1]


def test_unsatisfiable_range(output_file):
    response = Client().get("/media/outputs/job/720p.mp4", HTTP_RANGE="bytes=5000-")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize(
    "path", ["sources/secret", "outputs/../sources/secret", "outputs/job/.lock", "outputs/nope.mp4"]
)
def test_only_public_outputs_are_served(output_file, path):
    assert Client().get(f"/media/{path}").status_code == 404
