"""Upload over HTTP → transcode by the real worker → result via the collector → play over HTTP.

Playback is the store's: the web's `/media/<key>` answers 302 to a presigned
URL, and the store serves the bytes, Range requests included (docs/storage.md).
"""

from __future__ import annotations

import urllib.parse

import requests

from tests.support.api import ApiClient
from tests.support.media import ffprobe, stream_of


def test_uploaded_clip_becomes_a_playable_h264_mp4(api, stack, clip_10s):
    response = api.upload(clip_10s, title="Ten seconds")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "queued"

    final, seen = api.wait_final(created["id"], timeout=180)
    assert final["status"] == "ready", (final, stack.logs())
    assert final["error"] is None
    assert final["progress"] == 100
    assert next(body["status"] for body in seen) in {"queued", "processing"}

    source = ffprobe(clip_10s)
    source_duration = float(source["format"]["duration"])
    assert final["source"]["width"] == 640
    assert final["source"]["video_codec"] == "h264"

    (output,) = final["outputs"]
    assert output["profile"] == "720p"
    # A browser's request, with the owner's session: the redirect to a signed URL.
    redirect = api.session.get(
        f"{stack.base_url}{output['url']}", allow_redirects=False, timeout=30
    )
    assert redirect.status_code == 302, redirect.text
    signed = redirect.headers["Location"]
    assert urllib.parse.urlsplit(signed).path.endswith(output["url"].removeprefix("/media"))
    assert "Signature=" in signed  # presigned, not a public object
    # Downloaded over HTTP from the store, then probed independently.
    probe = ffprobe(signed)
    video, audio = stream_of(probe, "video"), stream_of(probe, "audio")
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (640, 360)  # never upscaled
    assert audio["codec_name"] == "aac"
    assert abs(float(probe["format"]["duration"]) - source_duration) <= 0.25
    assert (output["width"], output["height"], output["video_codec"]) == (640, 360, "h264")

    poster = api.get(final["poster_url"])
    assert poster.status_code == 200
    assert poster.content[:3] == b"\xff\xd8\xff"  # JPEG

    # A browser's seek: a Range request on the signed URL.
    ranged = requests.get(signed, headers={"Range": "bytes=0-1023"}, timeout=30)
    assert ranged.status_code == 206
    assert len(ranged.content) == 1024
    assert ranged.content[4:8] == b"ftyp"  # an MP4 from its first box
    assert ranged.headers["Content-Range"] == f"bytes 0-1023/{output['size_bytes']}"

    page = api.get(f"/videos/{created['id']}/").text
    assert "<video" in page
    assert f'href="{output["url"]}?download=1"' in page  # the MP4 stays for download
    assert final["hls_url"]
    assert final["hls_url"] in page

    # Someone else signed in gets nothing of it: not the page, not the media.
    stranger = ApiClient(stack.base_url)
    assert stranger.get(f"/api/videos/{created['id']}/").status_code == 404
    assert stranger.get(output["url"]).status_code == 404


def test_a_file_that_is_not_a_video_fails_with_a_readable_reason(api, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are not moving pictures\n" * 100)
    created = api.upload(fake).json()
    final, _ = api.wait_final(created["id"], timeout=60)
    assert final["status"] == "failed"
    assert final["error"]
    assert "not" in final["error"].lower()
    assert final["outputs"] == []
