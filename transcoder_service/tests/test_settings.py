from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from transcoder.objectstore import store_connect
from transcoder.settings import (
    DEFAULT_BROKER_FILESYSTEM_DIR,
    SERVICE_DIR,
    Settings,
    SettingsError,
    load_settings,
    usable_cores,
)

# The variables without a default.
REQUIRED = {
    "S3_BUCKET": "videos",
    "TRANSCODER_S3_ACCESS_KEY_ID": "transcoder-key",
    "TRANSCODER_S3_SECRET_ACCESS_KEY": "transcoder-secret",
}


def load(environ: dict[str, str]) -> Settings:
    return load_settings(environ={**REQUIRED, **environ})


def test_defaults() -> None:
    settings = load({})
    assert settings.broker_url == "amqp://guest:guest@localhost:5672//"
    assert settings.s3_endpoint_url is None  # AWS itself
    assert settings.s3_region == "us-east-1"
    assert settings.s3_bucket == "videos"
    assert settings.s3_access_key_id == "transcoder-key"
    assert settings.s3_secret_access_key == "transcoder-secret"
    assert settings.scratch_dir == Path(tempfile.gettempdir()) / "transcoder-scratch"
    assert settings.broker_heartbeat == 60.0
    assert settings.storage_retry_delay == 10.0
    assert (settings.s3_connect_timeout, settings.s3_read_timeout) == (3, 60)
    assert settings.concurrency == usable_cores()
    assert settings.ffmpeg_threads is None  # sized as each ffmpeg starts
    assert settings.ffmpeg_nice == 10
    assert settings.soft_time_limit == 1500
    assert settings.time_limit == 1560
    assert settings.max_source_bytes == 2147483648
    assert settings.max_duration_seconds == 10800
    assert settings.max_pixels == 35389440
    assert settings.progress_interval == 1.0
    assert settings.hls_progressive is True
    assert settings.broker_filesystem_dir is None


def test_a_filesystem_broker_gets_a_folder_shared_with_the_web() -> None:
    default = load({"BROKER_URL": "filesystem://"})
    assert default.broker_filesystem_dir == DEFAULT_BROKER_FILESYSTEM_DIR
    assert DEFAULT_BROKER_FILESYSTEM_DIR == SERVICE_DIR.parent / "var" / "broker"
    chosen = load({"BROKER_URL": "filesystem://", "BROKER_FILESYSTEM_DIR": "/srv/broker"})
    assert chosen.broker_filesystem_dir == Path("/srv/broker")
    # Ignored with a real broker, so a stale value in .env cannot matter.
    amqp = load({"BROKER_FILESYSTEM_DIR": "/srv/broker"})
    assert amqp.broker_filesystem_dir is None


@pytest.mark.parametrize(
    ("value", "threads"),
    [
        (None, None),  # unset: sized as each ffmpeg starts (slots.py)
        ("", None),
        ("auto", None),
        (" AUTO ", None),
        ("0", 0),  # ffmpeg decides, alone or not
        ("3", 3),
    ],
)
def test_ffmpeg_threads(value: str | None, threads: int | None) -> None:
    environ = {} if value is None else {"FFMPEG_THREADS": value}
    assert load(environ).ffmpeg_threads == threads


@pytest.mark.parametrize("value", ["-1", "abc", "2.5"])
def test_ffmpeg_threads_refuses_what_is_not_auto_or_a_count(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load({"FFMPEG_THREADS": value})
    assert str(caught.value) == (
        f"FFMPEG_THREADS must be 'auto' (or empty) or a whole number of at least 0, got {value!r}."
    )


@pytest.mark.parametrize(
    ("cores", "environ", "concurrency"),
    [(8, {}, 8), (8, {"TRANSCODER_CONCURRENCY": "3"}, 3), (2, {"TRANSCODER_CONCURRENCY": "4"}, 4)],
)
def test_concurrency_defaults_to_the_usable_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, environ: dict[str, str], concurrency: int
) -> None:
    monkeypatch.setattr("transcoder.settings.usable_cores", lambda: cores)
    settings = load(environ)
    # Threads no longer follow concurrency: they are sized when ffmpeg starts.
    assert (settings.concurrency, settings.ffmpeg_threads) == (concurrency, None)


def test_empty_values_mean_default() -> None:
    # docker-compose passes the blank `NAME=` lines of .env as empty strings.
    assert load({"BROKER_URL": "", "FFMPEG_NICE": " ", "S3_ENDPOINT_URL": ""}) == load({})


def test_values_are_read() -> None:
    settings = load(
        {
            "BROKER_URL": "amqp://u:p@rabbit:5672/v",
            "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
            "S3_REGION": "eu-west-3",
            "SCRATCH_DIR": "/srv/scratch",
            "BROKER_HEARTBEAT": "5",
            "STORAGE_RETRY_DELAY": "0.5",
            "S3_CONNECT_TIMEOUT": "1",
            "S3_READ_TIMEOUT": "2",
            "TRANSCODE_SOFT_TIME_LIMIT": "100",
            "PROGRESS_INTERVAL": "0",
            "HLS_PROGRESSIVE": "false",
        }
    )
    assert settings.broker_url == "amqp://u:p@rabbit:5672/v"
    assert settings.s3_endpoint_url == "http://127.0.0.1:8333"
    assert settings.s3_region == "eu-west-3"
    assert settings.scratch_dir == Path("/srv/scratch")
    assert settings.broker_heartbeat == 5.0
    assert settings.storage_retry_delay == 0.5
    assert (settings.s3_connect_timeout, settings.s3_read_timeout) == (1, 2)
    assert settings.time_limit == 160  # follows the soft limit
    assert settings.progress_interval == 0.0
    assert settings.hls_progressive is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRANSCODER_CONCURRENCY": "two"}, "TRANSCODER_CONCURRENCY must be a whole number"),
        ({"TRANSCODER_CONCURRENCY": "0"}, "must be at least 1"),
        ({"FFMPEG_NICE": "20"}, "FFMPEG_NICE must be at least 0 and at most 19"),
        ({"MAX_SOURCE_BYTES": "2GB"}, "MAX_SOURCE_BYTES must be a whole number, got '2GB'"),
        ({"PROGRESS_INTERVAL": "fast"}, "PROGRESS_INTERVAL must be a number"),
        ({"PROGRESS_INTERVAL": "nan"}, "must be a finite number"),
        ({"BROKER_HEARTBEAT": "-1"}, "BROKER_HEARTBEAT must be a finite number of at least 0"),
        ({"STORAGE_RETRY_DELAY": "soon"}, "STORAGE_RETRY_DELAY must be a number"),
        ({"HLS_PROGRESSIVE": "maybe"}, "HLS_PROGRESSIVE must be true or false, got 'maybe'"),
        # 0 would mean "no timeout" to botocore: a hung store would hang the job.
        ({"S3_READ_TIMEOUT": "0"}, "S3_READ_TIMEOUT must be at least 1, got 0"),
        ({"S3_CONNECT_TIMEOUT": "1.5"}, "S3_CONNECT_TIMEOUT must be a whole number"),
        (
            {"TRANSCODE_SOFT_TIME_LIMIT": "100", "TRANSCODE_TIME_LIMIT": "100"},
            r"TRANSCODE_TIME_LIMIT \(100\) must be greater than TRANSCODE_SOFT_TIME_LIMIT \(100\)",
        ),
    ],
)
def test_malformed_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(environ)


@pytest.mark.parametrize("name", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, "", "  "])
def test_store_settings_are_required(name: str, value: str | None) -> None:
    environ = {k: v for k, v in REQUIRED.items() if k != name}
    if value is not None:
        environ[name] = value
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert str(caught.value).startswith(f"{name} is required (")
    assert str(caught.value).endswith('see docs/storage.md, "Configuration".')


def test_the_secret_stays_out_of_reprs() -> None:
    assert "transcoder-secret" not in repr(load({}))


def test_there_is_no_media_root_any_more() -> None:
    # v2 shares nothing on disk: a leftover MEDIA_ROOT in .env changes nothing.
    assert load({"MEDIA_ROOT": "/srv/media"}) == load({})
    assert not hasattr(load({}), "media_root")


def test_the_worker_app_takes_its_broker_heartbeat_from_the_settings() -> None:
    # In a fresh interpreter, as the worker starts: the app reads the settings once.
    code = "from transcoder.worker import app; print(app.conf.broker_heartbeat)"
    environ = {**os.environ, **REQUIRED, "BROKER_HEARTBEAT": "2.5"}
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=SERVICE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.strip() == "2.5"


def test_the_store_client_takes_its_timeouts_from_the_settings() -> None:
    store = store_connect(settings=load({"S3_CONNECT_TIMEOUT": "4", "S3_READ_TIMEOUT": "7"}))
    config = store._client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (4, 7)


def test_observability_is_off_by_default() -> None:
    settings = load({})
    assert settings.metrics_port is None  # no /metrics endpoint
    assert settings.metrics_host == "127.0.0.1"
    assert settings.log_format == "text"
    assert settings.traces_export is False


@pytest.mark.parametrize(
    ("environ", "export"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_traces_are_exported_only_to_an_endpoint(environ: dict[str, str], export: bool) -> None:
    assert load(environ).traces_export is export


def test_observability_values_are_read() -> None:
    settings = load(
        {
            "TRANSCODER_METRICS_PORT": "9101",
            "TRANSCODER_METRICS_HOST": "0.0.0.0",
            "LOG_FORMAT": "JSON",
        }
    )
    assert (settings.metrics_port, settings.metrics_host) == (9101, "0.0.0.0")
    assert settings.log_format == "json"
    assert load({"TRANSCODER_METRICS_PORT": "0"}).metrics_port is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"LOG_FORMAT": "xml"},
            "LOG_FORMAT must be one of text, json, got 'xml'.",
        ),
        (
            {"TRANSCODER_METRICS_PORT": "70000"},
            "TRANSCODER_METRICS_PORT must be at least 0 and at most 65535, got 70000.",
        ),
    ],
)
def test_observability_refuses_bad_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(environ)
    assert str(caught.value) == message
