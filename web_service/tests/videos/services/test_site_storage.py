"""What everyone keeps in the store, as SITE_QUOTA_BYTES counts it (issue 23, hole 9).

Everyone's sources and the outputs every job reported: exactly what the
people's own totals add up to, whatever a result holds.
"""

from __future__ import annotations

import pytest

from jobs.models import JobStatus
from videos.selectors import site_storage_used, user_storage_used

from ...factories import hls_result, success_result, user_make, video_with_job

pytestmark = pytest.mark.django_db

ODD_RESULTS = [
    {"outputs": "not a list"},
    {"outputs": [{"size_bytes": "12"}, {"size_bytes": -5}, {"size_bytes": 2.5}, "x", 7]},
    {"outputs": [{"size_bytes": 100}], "hls": "not an object", "storyboard": {"size_bytes": 9}},
    {"hls": {"size_bytes": 3000000000000}},  # past 32 bits
    ["a", "list"],
    "a string",
]


def test_the_site_counts_every_source_and_output_as_each_persons_total_does():
    people = [user_make() for _ in range(3)]
    for person, make in zip(people, (success_result, hls_result, success_result), strict=True):
        _, job = video_with_job(owner=person, status=JobStatus.READY)
        job.result = make(job_id=str(job.id))
        job.save()
    for result in ODD_RESULTS:
        video_with_job(owner=people[2], status=JobStatus.FAILED, result=result)
    video_with_job(owner=user_make())  # a source whose job has no result yet

    totals = [user_storage_used(owner=person) for person in people]
    assert totals == [
        10 + 734003,
        10 + 734003 + 5242880 + 40960,
        10 + 734003 + len(ODD_RESULTS) * 10 + 100 + 9 + 3000000000000,
    ]
    assert site_storage_used() == sum(totals) + 10
