"""The ladder published while it is made (transcoder/live.py): real ffmpeg, a real store.

What a player polling the bucket would see is read from the bucket itself,
at the moment the job says it is playable, while its ffmpeg still runs.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from transcoder import pipeline
from transcoder.errors import TranscodeFailed
from transcoder.live import LadderPublisher
from transcoder.media.ladder import ladder_command, ladder_rungs
from transcoder.media.playlists import media_parse
from transcoder.media.probe import probe_source
from transcoder.media.runner import run_ffmpeg
from transcoder.objectstore import store_connect
from transcoder.payload import ConvertRequest

from .clips import h264_clip
from .processes import process_children_named
from .seaweed import SeaweedStore
from .support import (
    PROCESS_LIMITS,
    PipelineJob,
    keys_under,
    make_settings,
    object_bytes,
    scratch_entries,
    source_put,
)

RUNGS = ("720p", "480p", "360p")


@pytest.fixture(scope="module")
def hd_source(seaweed: SeaweedStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of 720p: a ladder pass of several seconds, still running when the first segment is."""
    path = tmp_path_factory.mktemp("live") / "hd.mp4"
    h264_clip(path, size="1280x720", seconds=10)
    return path


@pytest.fixture(scope="module")
def hd_key(seaweed: SeaweedStore, hd_source: Path) -> str:
    return source_put(seaweed, hd_source)


class Watcher:
    """The test's on_progress: every report, and the bucket as it was at chosen moments."""

    def __init__(self, job: PipelineJob) -> None:
        self.job = job
        self.reports: list[tuple[str, int, dict[str, Any] | None]] = []
        # The bucket at the first playable report, and at the first report of the MP4's pass.
        self.first: dict[str, Any] | None = None
        self.after_ladder: dict[str, Any] | None = None

    def __call__(self, *, stage: str, percent: int, preview: dict[str, Any] | None = None) -> None:
        self.reports.append((stage, percent, preview))
        if preview is None:
            return
        if self.first is None:
            self.first = self.bucket(preview)
        elif self.after_ladder is None and stage == "transcoding" and percent > 61:
            self.after_ladder = self.bucket(preview)

    def bucket(self, preview: dict[str, Any]) -> dict[str, Any]:
        hls = preview["master_key"].removesuffix("master.m3u8")
        stored = keys_under(self.job.seaweed, hls)
        playlists = {
            rung: object_bytes(self.job.seaweed, f"{hls}{rung}/index.m3u8").decode()
            for rung in RUNGS
            if f"{hls}{rung}/index.m3u8" in stored
        }
        return {
            "preview": preview,
            "stored": stored,
            "playlists": playlists,
            "ladder_running": bool(ladder_ffmpegs()),
        }


def ladder_ffmpegs() -> list[int]:
    """This process's ffmpegs making a ladder, as the kernel lists them."""
    return [
        pid
        for pid in process_children_named(name="ffmpeg")
        if b"-hls_playlist_type" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def convert(job: PipelineJob, source_key: str, on_progress: Any) -> dict[str, Any]:
    request = ConvertRequest(
        job_id=job.job_id, source_key=source_key, profiles=("720p", "hls"), contract_version=2
    )
    return pipeline.convert(
        request=request, store=job.store, on_progress=on_progress, settings=job.settings
    )


def test_the_ladder_plays_before_the_job_ends_and_ends_as_the_same_vod(
    job: PipelineJob, hd_key: str
) -> None:
    watcher = Watcher(job)
    result = convert(job, hd_key, watcher)
    attempt = result["poster_key"].removesuffix("poster.jpg")
    master_key = f"{attempt}hls/master.m3u8"

    # Playable while the ladder's ffmpeg still ran: the master, and in every
    # rung an init section, a growing EVENT playlist and the segments it names.
    first = watcher.first
    assert first is not None
    assert first["ladder_running"]
    assert first["preview"] == {
        "master_key": master_key,
        "encoded_seconds": first["preview"]["encoded_seconds"],
        "duration": result["source"]["duration"],
    }
    assert 1.0 <= first["preview"]["encoded_seconds"] < result["source"]["duration"]
    assert f"{attempt}hls/master.m3u8" in first["stored"]
    assert set(first["playlists"]) == set(RUNGS)
    for rung, text in first["playlists"].items():
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text
        assert "#EXT-X-ENDLIST" not in text
        # Never changes (RFC 8216): already the final 4, though the first segments are 1 s.
        assert "#EXT-X-TARGETDURATION:4" in text
        playlist = media_parse(text)
        assert playlist.init_uri == "init.mp4"
        named = ["init.mp4", *(uri for _, uri in playlist.segments)]
        assert all(f"{attempt}hls/{rung}/{uri}" in first["stored"] for uri in named)
        assert sum(d for d, _ in playlist.segments) >= first["preview"]["encoded_seconds"]
    # The first playable report came at once: nothing else of the job was reported in between.
    stages = [stage for stage, _, _ in watcher.reports]
    previews = [preview for _, _, preview in watcher.reports]
    at = next(i for i, preview in enumerate(previews) if preview is not None)
    assert stages[at] == "transcoding"
    # Every later report carries it, its figure never going back.
    assert all(preview is not None for preview in previews[at:])
    encoded = [preview["encoded_seconds"] for preview in previews[at:] if preview is not None]
    assert encoded == sorted(encoded)
    assert encoded[-1] == pytest.approx(result["source"]["duration"], abs=0.1)

    # The final playlists: the in-progress ones, every segment, made VOD and ended.
    after = watcher.after_ladder
    assert after is not None
    assert not after["ladder_running"]
    stored = job.stored()
    manifest = json.loads(object_bytes(job.seaweed, result["manifest_key"]))
    timelines = []
    for rung in RUNGS:
        final = object_bytes(job.seaweed, f"{attempt}hls/{rung}/index.m3u8").decode()
        in_progress = after["playlists"][rung]
        assert "#EXT-X-ENDLIST" not in in_progress
        assert final == in_progress.replace(
            "#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD"
        ) + ("#EXT-X-ENDLIST\n")
        first_segments = media_parse(first["playlists"][rung]).segments
        final_segments = media_parse(final).segments
        assert final_segments[: len(first_segments)] == first_segments
        # Segments published early are the final ones: same keys, same sizes.
        for _, uri in first_segments:
            key = f"{attempt}hls/{rung}/{uri}"
            assert first["stored"][key] == stored[key] == manifest["objects"][key]
        timelines.append([round(d, 3) for d, _ in final_segments])
    # Every rung cut at the same instants: four 1 s segments, then 4 s ones.
    assert all(timeline == timelines[0] for timeline in timelines)
    durations = timelines[0]
    assert durations[:4] == pytest.approx([1.0] * 4, abs=0.05)
    assert durations[4:-1] == pytest.approx([4.0] * len(durations[4:-1]), abs=0.05)
    assert sum(durations) == pytest.approx(result["source"]["duration"], abs=0.1)
    # Nothing but the manifest's objects is left.
    assert set(stored) == {*manifest["objects"], result["manifest_key"]}


def test_ffmpeg_failing_mid_ladder_leaves_no_objects_no_thread(
    job: PipelineJob, hd_key: str
) -> None:
    """The ladder's ffmpeg dies (SIGKILL, as the OOM killer does) once the
    attempt is playable: its in-progress objects go with the attempt."""
    published: list[dict[str, int]] = []

    def kill_ladder(*, stage: str, percent: int, preview: dict[str, Any] | None = None) -> None:
        if preview is None or published:
            return
        published.append(job.stored())
        for pid in ladder_ffmpegs():
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(TranscodeFailed, match="stopped by signal 9"):
        convert(job, hd_key, kill_ladder)
    assert [key for key in published[0] if "/hls/" in key]  # there was something to delete
    assert job.stored() == {}
    assert process_children_named(name="ffmpeg") == []
    assert [t for t in threading.enumerate() if t.name == "ladder-publisher"] == []
    assert scratch_entries(job.settings.scratch_dir) == []


def test_a_time_limit_mid_ladder_leaves_no_objects_no_ffmpeg_no_thread(
    job: PipelineJob, hd_key: str
) -> None:
    """Celery's soft time limit: SIGUSR1, whose handler raises in the main
    thread wherever it is (here, reading ffmpeg's progress), once the ladder
    is already in the store."""
    published: list[dict[str, int]] = []

    def time_limit(signum: int, frame: object) -> None:
        raise RuntimeError("stand-in for SoftTimeLimitExceeded")

    def on_progress(*, stage: str, percent: int, preview: dict[str, Any] | None = None) -> None:
        if preview is not None and not published:
            published.append(job.stored())
            os.kill(os.getpid(), signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, time_limit)
    try:
        with pytest.raises(RuntimeError, match="SoftTimeLimitExceeded"):
            convert(job, hd_key, on_progress)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert [key for key in published[0] if "/hls/" in key]
    assert job.stored() == {}
    assert process_children_named(name="ffmpeg") == []
    assert [t for t in threading.enumerate() if t.name == "ladder-publisher"] == []
    assert scratch_entries(job.settings.scratch_dir) == []


def test_without_hls_progressive_the_ladder_comes_last_and_nothing_is_previewed(
    job: PipelineJob, seaweed: SeaweedStore, tmp_path: Path
) -> None:
    source = tmp_path / "short.mp4"
    h264_clip(source, size="640x360", seconds=3)
    previews: list[dict[str, Any]] = []
    settings = make_settings(seaweed, job.settings.scratch_dir, HLS_PROGRESSIVE="false")
    result = job.convert(
        source_put(seaweed, source), profiles=("720p", "hls"), previews=previews, settings=settings
    )
    assert previews == []
    assert [key for key in result["timings"] if key.startswith("encode:")] == [
        "encode:1:720p",
        "encode:2:hls",
    ]
    attempt = result["poster_key"].removesuffix("poster.jpg")
    playlist = media_parse(object_bytes(seaweed, f"{attempt}hls/360p/index.m3u8").decode())
    assert playlist.vod
    assert playlist.ended
    assert [d for d, _ in playlist.segments] == pytest.approx([3.0], abs=0.05)


def test_a_store_error_while_publishing_is_left_to_the_final_upload(
    seaweed: SeaweedStore, scratch_dir: Path, tmp_path: Path
) -> None:
    """Nothing listens at the store's address: each sweep fails, is logged and
    tried again later; the pass ends normally and nothing counts as uploaded,
    so the final upload sends it all (and fails, retried, if the store is
    still away)."""
    settings = make_settings(seaweed, scratch_dir, S3_ENDPOINT_URL="http://127.0.0.1:9")
    previews: list[dict[str, Any]] = []
    publisher = LadderPublisher(
        store=store_connect(settings=settings),
        prefix="outputs/j/0123456789abcdef/",
        on_preview=previews.append,
    )
    source = tmp_path / "short.mp4"
    h264_clip(source, size="640x360", seconds=3)
    info = probe_source(source, limits=PROCESS_LIMITS)
    rungs = ladder_rungs(width=info.width, height=info.height)
    folder = tmp_path / "hls"
    folder.mkdir()
    with publisher.watching(folder=folder, rungs=[r.name for r in rungs], duration=info.duration):
        run_ffmpeg(
            ladder_command(
                source=source,
                folder=folder,
                rungs=rungs,
                info=info,
                threads=2,
                max_pixels=PROCESS_LIMITS.max_pixels,
                progressive=True,
            ),
            duration=info.duration,
            on_progress=lambda percent: None,
            job_id="j",
            limits=PROCESS_LIMITS,
        )
    assert media_parse((folder / "360p" / "index.m3u8").read_text()).segments
    assert previews == []
    assert publisher.uploaded == {}
    assert [t for t in threading.enumerate() if t.name == "ladder-publisher"] == []


def test_a_master_caught_half_written_waits_for_the_next_look(
    job: PipelineJob, tmp_path: Path
) -> None:
    """ffmpeg writes the master in place, unlike the media playlists: one read
    while it is written names fewer rungs, or half a URI, and is not sent."""
    folder = tmp_path / "hls"
    for index, rung in enumerate(("720p", "360p")):
        (folder / rung).mkdir(parents=True)
        (folder / rung / f"init_{index}.mp4").write_bytes(b"init")
        (folder / rung / "seg_00001.m4s").write_bytes(b"segment")
        (folder / rung / "index.m3u8").write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            f'#EXT-X-MAP:URI="init_{index}.mp4"\n#EXTINF:1.000000,\nseg_00001.m4s\n'
        )
    whole = (
        "#EXTM3U\n#EXT-X-VERSION:7\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3370400,RESOLUTION=1280x720\n720p/index.m3u8\n\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=915200,RESOLUTION=640x360\n360p/index.m3u8\n"
    )
    prefix = f"outputs/{job.job_id}/0123456789abcdef/"
    previews: list[dict[str, Any]] = []
    publisher = LadderPublisher(store=job.store, prefix=prefix, on_preview=previews.append)
    rungs = ["720p", "360p"]
    for half in (whole[: whole.index("360p/index") + 6], whole[: whole.index("#EXT-X-STREAM")]):
        (folder / "master.m3u8").write_text(half)
        with publisher.watching(folder=folder, rungs=rungs, duration=10.0):
            pass
        assert f"{prefix}hls/master.m3u8" not in job.stored()
        assert previews == []
    (folder / "master.m3u8").write_text(whole)
    with publisher.watching(folder=folder, rungs=rungs, duration=10.0):
        pass
    assert object_bytes(job.seaweed, f"{prefix}hls/master.m3u8").decode() == whole
    assert previews == [
        {"master_key": f"{prefix}hls/master.m3u8", "encoded_seconds": 1.0, "duration": 10.0}
    ]
    assert object_bytes(job.seaweed, f"{prefix}hls/360p/init.mp4") == b"init"
    assert publisher.holds(key=f"{prefix}hls/master.m3u8", path=folder / "master.m3u8")
    job.store.prefix_delete(prefix=prefix)
