"""Reads of jobs (HackSoft styleguide: selectors read, services write)."""

from __future__ import annotations

from jobs.models import DispatchState, JobStatus, TranscodeJob


def jobs_pending_count() -> int:
    """Job rows still waiting in the outbox (not yet accepted by the broker)."""
    return TranscodeJob.objects.filter(
        dispatch_state=DispatchState.PENDING, status=JobStatus.QUEUED
    ).count()
