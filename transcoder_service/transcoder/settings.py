"""Configuration, read from the environment in this one place.

Every variable is documented with its default in the repository's
.env.example. The rest of the code receives a `Settings` object instead of
reading os.environ, so tests can build one with any values they need.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The service folder (the one holding this package). The default media root
# sits beside it at the repository root, where the web service looks too.
SERVICE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MEDIA_ROOT = SERVICE_DIR.parent / "var" / "media"
DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_BROKER_FILESYSTEM_DIR = SERVICE_DIR.parent / "var" / "broker"


class SettingsError(Exception):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    broker_url: str
    # Only for a `filesystem://` broker URL (`make run`'s embedded fallback):
    # the folder both services exchange message files through.
    broker_filesystem_dir: Path | None
    media_root: Path
    concurrency: int
    ffmpeg_threads: int
    ffmpeg_nice: int
    soft_time_limit: int
    time_limit: int
    max_source_bytes: int
    max_duration_seconds: int
    max_pixels: int
    progress_interval: float


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
    # busy), and each ffmpeg sized to its share rather than to the whole
    # machine, which `-threads 0` would do N times over. Evidence and
    # figures: bench/results.md, section 4.
    cores = usable_cores()
    concurrency = _int(environ, "TRANSCODER_CONCURRENCY", default=cores, minimum=1)
    broker_url = _str(environ, "BROKER_URL", default=DEFAULT_BROKER_URL)
    broker_filesystem_dir = None
    if broker_url.startswith("filesystem:"):
        broker_filesystem_dir = Path(
            _str(environ, "BROKER_FILESYSTEM_DIR", default=str(DEFAULT_BROKER_FILESYSTEM_DIR))
        ).absolute()
    return Settings(
        broker_url=broker_url,
        broker_filesystem_dir=broker_filesystem_dir,
        media_root=Path(_str(environ, "MEDIA_ROOT", default=str(DEFAULT_MEDIA_ROOT))).absolute(),
        concurrency=concurrency,
        ffmpeg_threads=_int(
            environ, "FFMPEG_THREADS", default=max(1, cores // concurrency), minimum=0
        ),
        # nice(2) increments above 19 are clamped by the kernel; refusing them
        # here makes a typo visible instead of silently ignored.
        ffmpeg_nice=_int(environ, "FFMPEG_NICE", default=10, minimum=0, maximum=19),
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        max_source_bytes=_int(environ, "MAX_SOURCE_BYTES", default=2 * 1024**3, minimum=1),
        max_duration_seconds=_int(environ, "MAX_DURATION_SECONDS", default=10800, minimum=1),
        max_pixels=_int(environ, "MAX_PIXELS", default=8192 * 4320, minimum=1),
        # 1 s costs 0.6 % of a job's CPU against 2.1 % at 0.25 s, and the page
        # polls about once a second anyway (bench/results.md, section 6).
        progress_interval=_float(environ, "PROGRESS_INTERVAL", default=1.0, minimum=0.0),
    )


def usable_cores() -> int:
    """The CPUs this process may run on (a cpuset or taskset narrows them)."""
    return len(os.sched_getaffinity(0))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from os.environ on first use."""
    return load_settings(environ=os.environ)


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    # docker-compose passes `NAME=` lines from .env as empty strings, so an
    # empty value means "not set" rather than "set to nothing".
    value = environ.get(name, "").strip()
    return value or None


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
