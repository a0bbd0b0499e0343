"""Reads (HackSoft styleguide: selectors read)."""

from __future__ import annotations

from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q


def login_lockout_end(*, ip_address: str | None, username: str | None) -> datetime | None:
    """When a login lockout of this address or username ends, at the latest.

    django-axes counts failures per address and per username; a lockout lasts
    AXES_COOLOFF_TIME from the last failure it counted (tries during it are
    not counted: AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT). None when
    nothing is counted.
    """
    matching = Q(pk__in=[])
    if ip_address:
        matching |= Q(ip_address=ip_address)
    if username:
        matching |= Q(username=username)
    latest = AccessAttempt.objects.filter(matching).aggregate(latest=Max("attempt_time"))["latest"]
    return latest + settings.AXES_COOLOFF_TIME if latest else None
