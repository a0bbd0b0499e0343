from __future__ import annotations

from pathlib import Path

import pytest

from transcoder.settings import (
    DEFAULT_BROKER_FILESYSTEM_DIR,
    DEFAULT_MEDIA_ROOT,
    SERVICE_DIR,
    SettingsError,
    load_settings,
    usable_cores,
)


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.broker_url == "amqp://guest:guest@localhost:5672//"
    assert settings.media_root == DEFAULT_MEDIA_ROOT == SERVICE_DIR.parent / "var" / "media"
    assert settings.concurrency == usable_cores()
    assert settings.ffmpeg_threads == 1  # cores ÷ concurrency
    assert settings.ffmpeg_nice == 10
    assert settings.soft_time_limit == 1500
    assert settings.time_limit == 1560
    assert settings.max_source_bytes == 2147483648
    assert settings.max_duration_seconds == 10800
    assert settings.max_pixels == 35389440
    assert settings.progress_interval == 1.0
    assert settings.broker_filesystem_dir is None


def test_a_filesystem_broker_gets_a_folder_shared_with_the_web() -> None:
    default = load_settings(environ={"BROKER_URL": "filesystem://"})
    assert default.broker_filesystem_dir == DEFAULT_BROKER_FILESYSTEM_DIR
    assert DEFAULT_BROKER_FILESYSTEM_DIR == SERVICE_DIR.parent / "var" / "broker"
    chosen = load_settings(
        environ={"BROKER_URL": "filesystem://", "BROKER_FILESYSTEM_DIR": "/srv/broker"}
    )
    assert chosen.broker_filesystem_dir == Path("/srv/broker")
    # Ignored with a real broker, so a stale value in .env cannot matter.
    amqp = load_settings(environ={"BROKER_FILESYSTEM_DIR": "/srv/broker"})
    assert amqp.broker_filesystem_dir is None


@pytest.mark.parametrize(
    ("cores", "environ", "concurrency", "threads"),
    [
        (8, {}, 8, 1),
        (8, {"TRANSCODER_CONCURRENCY": "2"}, 2, 4),
        (8, {"TRANSCODER_CONCURRENCY": "3"}, 3, 2),
        (2, {"TRANSCODER_CONCURRENCY": "4"}, 4, 1),  # never below one thread
        (8, {"TRANSCODER_CONCURRENCY": "2", "FFMPEG_THREADS": "0"}, 2, 0),  # 0: ffmpeg decides
    ],
)
def test_threads_follow_concurrency(
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    environ: dict[str, str],
    concurrency: int,
    threads: int,
) -> None:
    monkeypatch.setattr("transcoder.settings.usable_cores", lambda: cores)
    settings = load_settings(environ=environ)
    assert (settings.concurrency, settings.ffmpeg_threads) == (concurrency, threads)


def test_empty_values_mean_default() -> None:
    # docker-compose passes the blank `NAME=` lines of .env as empty strings.
    assert load_settings(environ={"BROKER_URL": "", "FFMPEG_NICE": " "}) == load_settings(
        environ={}
    )


def test_values_are_read() -> None:
    settings = load_settings(
        environ={
            "BROKER_URL": "amqp://u:p@rabbit:5672/v",
            "MEDIA_ROOT": "/srv/media",
            "TRANSCODE_SOFT_TIME_LIMIT": "100",
            "PROGRESS_INTERVAL": "0",
        }
    )
    assert settings.broker_url == "amqp://u:p@rabbit:5672/v"
    assert settings.media_root == Path("/srv/media")
    assert settings.time_limit == 160  # follows the soft limit
    assert settings.progress_interval == 0.0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRANSCODER_CONCURRENCY": "two"}, "TRANSCODER_CONCURRENCY must be a whole number"),
        ({"TRANSCODER_CONCURRENCY": "0"}, "must be at least 1"),
        ({"FFMPEG_NICE": "20"}, "FFMPEG_NICE must be at least 0 and at most 19"),
        ({"MAX_SOURCE_BYTES": "2GB"}, "MAX_SOURCE_BYTES must be a whole number, got '2GB'"),
        ({"PROGRESS_INTERVAL": "fast"}, "PROGRESS_INTERVAL must be a number"),
        ({"PROGRESS_INTERVAL": "nan"}, "must be a finite number"),
        (
            {"TRANSCODE_SOFT_TIME_LIMIT": "100", "TRANSCODE_TIME_LIMIT": "100"},
            r"TRANSCODE_TIME_LIMIT \(100\) must be greater than TRANSCODE_SOFT_TIME_LIMIT \(100\)",
        ),
    ],
)
def test_malformed_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)
