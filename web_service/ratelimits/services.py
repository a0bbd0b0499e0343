"""Fixed-window rate counting in one atomic statement (HackSoft styleguide: services write).

DRF's own throttles keep a list of timestamps in the cache: read, appended
to and written back. Two requests at once both read the old list, so under
load many more than the rate got through (issue 23: 129 upload starts
against 60/hour). Here each hit is one `INSERT … ON CONFLICT DO UPDATE …
RETURNING`: the database serialises the hits on a key and hands each its
own count, so exactly `limit` hits per window are let through, whatever
the number of threads, processes and hosts. PostgreSQL and SQLite (3.35+,
`make run`'s fallback) both run the statement as written.

A window starts at the first hit of a key and lasts the period; the next
hit after it starts a new one. A refused hit is counted too, so hammering
does not help, but it never extends the window.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.db import connections, router

from ratelimits.models import RateCounter

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LONGEST_PERIOD = max(_PERIODS.values())


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int


@dataclass(frozen=True)
class RateVerdict:
    allowed: bool
    # Seconds until the window ends and hits count from zero again.
    wait_seconds: float


def rate_parse(text: str) -> Rate:
    """'60/hour' -> Rate(60, 3600): DRF's format (second, minute, hour, day, by first letter)."""
    count, _, period = text.partition("/")
    if not count.strip().isdigit() or period.strip()[:1] not in _PERIODS:
        raise ValueError(f"A rate is N/second, N/minute, N/hour or N/day, got {text!r}.")
    return Rate(limit=int(count), period_seconds=_PERIODS[period.strip()[0]])


def _stored_key(key: str) -> str:
    # Keys hold an address or an id; a hash keeps an odd one within the column.
    if len(key) <= 200:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def rate_hit(*, key: str, rate: Rate, now: float | None = None) -> RateVerdict:
    """Count one hit of `key`, and say whether it is within `rate`."""
    now = time.time() if now is None else now
    alias = router.db_for_write(RateCounter)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table, key_column = quote(RateCounter._meta.db_table), quote("key")
    start, hits = quote("window_start"), quote("hits")
    # Every expression in SET reads the row as it was before this update.
    current = f"{table}.{start} > %s"
    sql = (
        f"INSERT INTO {table} ({key_column}, {start}, {hits}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({key_column}) DO UPDATE SET "
        f"{hits} = CASE WHEN {current} THEN {table}.{hits} + 1 ELSE 1 END, "
        f"{start} = CASE WHEN {current} THEN {table}.{start} ELSE %s END "
        f"RETURNING {hits}, {start}"
    )
    cutoff = now - rate.period_seconds
    with connection.cursor() as cursor:
        cursor.execute(sql, [_stored_key(key), now, cutoff, cutoff, now])
        count, window_start = cursor.fetchone()
    if count == 1:
        # A window began: the moment to drop counters no rate can still use,
        # so the table holds about a day of keys, without a scheduled job.
        RateCounter.objects.using(alias).filter(window_start__lt=now - _LONGEST_PERIOD).delete()
    if count <= rate.limit:
        return RateVerdict(allowed=True, wait_seconds=0.0)
    ends = window_start + rate.period_seconds
    return RateVerdict(allowed=False, wait_seconds=max(0.0, ends - now))


def wait_sentence(seconds: float) -> str:
    """'Try again in 42 seconds.' (or minutes, or hours), for a person to read."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"Try again in {seconds} seconds."
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"Try again in {minutes} minutes."
    return f"Try again in {math.ceil(minutes / 60)} hours."
