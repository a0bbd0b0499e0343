"""Configuration, read from the environment in this one place.

Every variable is documented with its default in the repository's
.env.example. The rest of the code receives a `Settings` object instead of
reading os.environ, so tests can build one with any values they need.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The service folder (the one holding this package).
SERVICE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_S3_REGION = "us-east-1"
DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_BROKER_FILESYSTEM_DIR = SERVICE_DIR.parent / "var" / "broker"
# FFMPEG_THREADS's value for "size each ffmpeg when it starts", its default.
AUTO = "auto"


class SettingsError(Exception):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    broker_url: str
    # Only for a `filesystem://` broker URL (`make run`'s embedded fallback):
    # the folder both services exchange message files through.
    broker_filesystem_dir: Path | None
    # The object store (docs/storage.md). An empty endpoint means AWS itself.
    s3_endpoint_url: str | None
    s3_region: str
    s3_bucket: str
    s3_access_key_id: str
    # repr=False: a Settings object may end up in a log or a traceback.
    s3_secret_access_key: str = field(repr=False)
    # Seconds to open a connection to the store, and of silence from it
    # mid-request, before a request gives up (and botocore tries again).
    s3_connect_timeout: int
    s3_read_timeout: int
    # Local folder for the source and outputs while a job runs.
    scratch_dir: Path
    # Seconds between AMQP heartbeats: how soon a cut link to the broker is noticed.
    broker_heartbeat: float
    # Base of the doubling countdown between retries of a StorageError.
    storage_retry_delay: float
    concurrency: int
    # ffmpeg's -threads: None (FFMPEG_THREADS unset or `auto`) sizes each
    # ffmpeg as it starts (slots.py); 0 lets ffmpeg decide; N is fixed.
    ffmpeg_threads: int | None
    ffmpeg_nice: int
    soft_time_limit: int
    time_limit: int
    max_source_bytes: int
    max_duration_seconds: int
    max_pixels: int
    # Address space (RLIMIT_AS) of each ffmpeg/ffprobe process, in bytes.
    ffmpeg_memory_limit_bytes: int
    # Seconds an ffprobe may take before it is killed and the file refused.
    probe_timeout: float
    progress_interval: float
    # The ladder first, published segment by segment while it is made, with
    # short first segments (live.py); off: after the MP4s, published at the end.
    hls_progressive: bool = True
    # Observability (transcoder/telemetry.py, metrics.py, logs.py). Defaults
    # keep a Settings built by hand quiet: no /metrics, text logs, no traces.
    # The port of /metrics, or None for no endpoint at all.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # "text" (readable) or "json" (one object per line, for a log pipeline).
    log_format: str = "text"
    # True when an OTLP endpoint is set: only then is a span exported. The
    # exporter itself reads the OTEL_* variables (the standard ones).
    traces_export: bool = False


def load_settings(*, environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from `environ`, raising `SettingsError` on a bad value."""
    soft_time_limit = _int(environ, "TRANSCODE_SOFT_TIME_LIMIT", default=1500, minimum=1)
    time_limit = _int(environ, "TRANSCODE_TIME_LIMIT", default=soft_time_limit + 60, minimum=1)
    if time_limit <= soft_time_limit:
        # The hard limit kills the pool process; it must come after the soft
        # limit or the job never gets the chance to clean up and report.
        raise SettingsError(
            f"TRANSCODE_TIME_LIMIT ({time_limit}) must be greater than "
            f"TRANSCODE_SOFT_TIME_LIMIT ({soft_time_limit})."
        )
    # Jobs at once and threads per ffmpeg multiply, so they are one decision:
    # one job per usable core (a lone 720p ffmpeg keeps only ~1.3 cores
    # busy), and by default each ffmpeg sized when it starts (slots.py):
    # ffmpeg's own choice when its job is alone, as plain ffmpeg would be,
    # else its share of the cores rather than the whole machine, which
    # `-threads 0` would claim N times over. Evidence and figures:
    # bench/results.md, section 4.
    concurrency = _int(environ, "TRANSCODER_CONCURRENCY", default=usable_cores(), minimum=1)
    broker_url = _str(environ, "BROKER_URL", default=DEFAULT_BROKER_URL)
    broker_filesystem_dir = None
    if broker_url.startswith("filesystem:"):
        broker_filesystem_dir = Path(
            _str(environ, "BROKER_FILESYSTEM_DIR", default=str(DEFAULT_BROKER_FILESYSTEM_DIR))
        ).absolute()
    return Settings(
        broker_url=broker_url,
        broker_filesystem_dir=broker_filesystem_dir,
        s3_endpoint_url=_raw(environ, "S3_ENDPOINT_URL"),
        s3_region=_str(environ, "S3_REGION", default=DEFAULT_S3_REGION),
        s3_bucket=_required(environ, "S3_BUCKET", meaning="the bucket shared with the web"),
        s3_access_key_id=_required(
            environ, "TRANSCODER_S3_ACCESS_KEY_ID", meaning="the transcoder's own access key"
        ),
        s3_secret_access_key=_required(
            environ, "TRANSCODER_S3_SECRET_ACCESS_KEY", meaning="the secret of that access key"
        ),
        # A store that accepts connections and never answers costs each
        # request this long, three times (docs/storage.md, "When the store
        # stalls"): without a read timeout a job would wait on it forever.
        s3_connect_timeout=_int(environ, "S3_CONNECT_TIMEOUT", default=3, minimum=1),
        s3_read_timeout=_int(environ, "S3_READ_TIMEOUT", default=60, minimum=1),
        scratch_dir=Path(
            _str(environ, "SCRATCH_DIR", default=str(default_scratch_dir()))
        ).absolute(),
        broker_heartbeat=_float(environ, "BROKER_HEARTBEAT", default=60.0, minimum=0.0),
        # 10, 20, 40 s: room for a store that restarts or a disk being cleaned up.
        storage_retry_delay=_float(environ, "STORAGE_RETRY_DELAY", default=10.0, minimum=0.0),
        concurrency=concurrency,
        ffmpeg_threads=_threads(environ, "FFMPEG_THREADS"),
        # nice(2) increments above 19 are clamped by the kernel; refusing them
        # here makes a typo visible instead of silently ignored.
        ffmpeg_nice=_int(environ, "FFMPEG_NICE", default=10, minimum=0, maximum=19),
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        max_source_bytes=_int(environ, "MAX_SOURCE_BYTES", default=2 * 1024**3, minimum=1),
        max_duration_seconds=_int(environ, "MAX_DURATION_SECONDS", default=10800, minimum=1),
        max_pixels=_int(environ, "MAX_PIXELS", default=8192 * 4320, minimum=1),
        # Address space, not resident memory: glibc's per-thread arenas and
        # thread stacks reserve far more than they touch. Measured with
        # prlimit (ffmpeg 5.1, veryfast, to 720p): 1080p needs 768 MiB with
        # 2 threads and 2 GiB with 16; an 8K source (MAX_PIXELS) fits in
        # 2 GiB with 16 threads. 3 GiB leaves half as much again, while a
        # decoder bomb is stopped long before it can take the host down.
        ffmpeg_memory_limit_bytes=_int(environ, "FFMPEG_MEMORY_LIMIT_MB", default=3072, minimum=64)
        * 1024**2,
        # ffprobe reads headers and a few frames: a second or two even for
        # a big file. Longer means a file built to stall it.
        probe_timeout=_float(environ, "FFPROBE_TIMEOUT", default=60.0, minimum=1.0),
        # 1 s costs 0.6 % of a job's CPU against 2.1 % at 0.25 s, and the page
        # polls about once a second anyway (bench/results.md, section 6).
        progress_interval=_float(environ, "PROGRESS_INTERVAL", default=1.0, minimum=0.0),
        hls_progressive=_bool(environ, "HLS_PROGRESSIVE", default=True),
        # 0 or unset: no /metrics endpoint (and no multiprocess files).
        metrics_port=_int(environ, "TRANSCODER_METRICS_PORT", default=0, minimum=0, maximum=65535)
        or None,
        # Loopback by default: the metrics name jobs' failure codes, nothing
        # for the whole network.
        metrics_host=_str(environ, "TRANSCODER_METRICS_HOST", default="127.0.0.1"),
        log_format=_choice(environ, "LOG_FORMAT", default="text", choices=("text", "json")),
        traces_export=_traces_export(environ),
    )


def default_scratch_dir() -> Path:
    """A `transcoder-scratch` folder in the system temp dir (honours $TMPDIR)."""
    return Path(tempfile.gettempdir()) / "transcoder-scratch"


def usable_cores() -> int:
    """The CPUs this process may run on (a cpuset or taskset narrows them)."""
    return len(os.sched_getaffinity(0))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from os.environ on first use."""
    return load_settings(environ=os.environ)


def _traces_export(environ: Mapping[str, str]) -> bool:
    # The OpenTelemetry SDK's own variables (its specification, "SDK
    # environment variables"): no endpoint, or the SDK or its exporter
    # switched off, means no tracer provider at all, so spans cost nothing.
    endpoint = _raw(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or _raw(
        environ, "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    disabled = (_raw(environ, "OTEL_SDK_DISABLED") or "").lower() == "true"
    exporter_off = (_raw(environ, "OTEL_TRACES_EXPORTER") or "").lower() == "none"
    return endpoint is not None and not disabled and not exporter_off


def _choice(
    environ: Mapping[str, str], name: str, *, default: str, choices: tuple[str, ...]
) -> str:
    value = (_raw(environ, name) or default).lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _bool(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (_raw(environ, name) or "").lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}.")


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    # docker-compose passes `NAME=` lines from .env as empty strings, so an
    # empty value means "not set" rather than "set to nothing".
    value = environ.get(name, "").strip()
    return value or None


def _required(environ: Mapping[str, str], name: str, *, meaning: str) -> str:
    value = _raw(environ, name)
    if value is None:
        # No default on purpose: a guessed bucket or key would fail later,
        # on the first job, with a far less helpful message.
        raise SettingsError(
            f'{name} is required ({meaning}); see docs/storage.md, "Configuration".'
        )
    return value


def _str(environ: Mapping[str, str], name: str, *, default: str) -> str:
    return _raw(environ, name) or default


def _int(
    environ: Mapping[str, str],
    name: str,
    *,
    default: int,
    minimum: int,
    maximum: int | None = None,
) -> int:
    raw = _raw(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}.")
    return value


def _threads(environ: Mapping[str, str], name: str) -> int | None:
    raw = _raw(environ, name)
    if raw is None or raw.lower() == AUTO:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SettingsError(
            f"{name} must be {AUTO!r} (or empty) or a whole number of at least 0, got {raw!r}."
        )
    return value


def _float(environ: Mapping[str, str], name: str, *, default: float, minimum: float) -> float:
    raw = _raw(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}.") from None
    # float() accepts "nan" and "inf", which would make every comparison false.
    if not (minimum <= value < float("inf")):
        raise SettingsError(f"{name} must be a finite number of at least {minimum}, got {raw!r}.")
    return value
