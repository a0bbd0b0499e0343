from __future__ import annotations

import threading
import time
from typing import Any

from transcoder.progress import ProgressReporter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(interval: float) -> tuple[ProgressReporter, list[tuple[str, int]], FakeClock]:
    sent: list[tuple[str, int]] = []
    clock = FakeClock()

    def emit(*, stage: str, percent: int) -> None:
        sent.append((stage, percent))

    return ProgressReporter(emit=emit, interval=interval, clock=clock), sent, clock


def test_first_update_is_sent_at_once() -> None:
    reporter, sent, _ = make(0.25)
    reporter.report(stage="probing", percent=0)
    assert sent == [("probing", 0)]


def test_updates_within_the_interval_are_dropped() -> None:
    reporter, sent, clock = make(0.25)
    reporter.report(stage="transcoding", percent=1)
    clock.now += 0.1
    reporter.report(stage="transcoding", percent=2)
    clock.now += 0.2
    reporter.report(stage="transcoding", percent=3)
    assert sent == [("transcoding", 1), ("transcoding", 3)]


def test_a_new_stage_is_sent_at_once() -> None:
    # The last encode's report and the first upload's come a millisecond
    # apart; dropping the second left the page on "poster" for the whole upload.
    reporter, sent, clock = make(1.0)
    reporter.report(stage="transcoding", percent=90)
    clock.now += 0.001
    reporter.report(stage="uploading", percent=92)
    clock.now += 0.001
    reporter.report(stage="uploading", percent=93)
    assert sent == [("transcoding", 90), ("uploading", 92)]


def test_at_most_four_a_second() -> None:
    reporter, sent, clock = make(0.25)
    for percent in range(100):
        reporter.report(stage="transcoding", percent=percent)
        clock.now += 0.01  # 100 updates in one second
    assert len(sent) <= 4


def test_repeats_are_not_sent() -> None:
    reporter, sent, clock = make(0)
    reporter.report(stage="transcoding", percent=5)
    clock.now += 1
    reporter.report(stage="transcoding", percent=5)
    assert sent == [("transcoding", 5)]


def test_percent_never_goes_back_and_stays_in_range() -> None:
    reporter, sent, clock = make(0)
    reporter.report(stage="transcoding", percent=40)
    clock.now += 1
    reporter.report(stage="poster", percent=10)
    clock.now += 1
    reporter.report(stage="poster", percent=250)
    assert sent == [("transcoding", 40), ("poster", 40), ("poster", 100)]


def recorder(interval: float) -> tuple[ProgressReporter, list[tuple[Any, ...]], FakeClock]:
    """Like make(), but keeping each report's preview when it has one."""
    sent: list[tuple[Any, ...]] = []
    clock = FakeClock()

    def emit(*, stage: str, percent: int, **preview: Any) -> None:
        sent.append((stage, percent, *preview.values()))

    return ProgressReporter(emit=emit, interval=interval, clock=clock), sent, clock


PREVIEW = {"master_key": "outputs/j/0123456789abcdef/hls/master.m3u8", "duration": 60.0}


def test_the_first_preview_is_sent_at_once_and_rides_on_every_later_report() -> None:
    reporter, sent, clock = recorder(1.0)
    reporter.report(stage="transcoding", percent=10)
    clock.now += 0.01  # well within the interval, same stage and percent
    reporter.preview_set({**PREVIEW, "encoded_seconds": 1.0})
    assert sent == [
        ("transcoding", 10),
        ("transcoding", 10, {**PREVIEW, "encoded_seconds": 1.0}),
    ]
    # A newer figure waits for the next report, throttled as any other.
    reporter.preview_set({**PREVIEW, "encoded_seconds": 2.0})
    reporter.report(stage="transcoding", percent=11)
    clock.now += 1.0
    reporter.report(stage="transcoding", percent=12)
    reporter.report(stage="poster", percent=90)
    assert sent[2:] == [
        ("transcoding", 12, {**PREVIEW, "encoded_seconds": 2.0}),
        ("poster", 90, {**PREVIEW, "encoded_seconds": 2.0}),
    ]


def test_a_preview_from_another_thread_is_sent_alone() -> None:
    """The publisher's thread and the ffmpeg reader's report at once: never two emits together."""
    inside = threading.Lock()
    overlaps: list[int] = []

    def emit(*, stage: str, percent: int, **preview: Any) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(percent)
            return
        time.sleep(0.002)  # a message on its way to the broker
        inside.release()

    for _ in range(20):
        reporter = ProgressReporter(emit=emit, interval=0)
        reporter.report(stage="transcoding", percent=0)
        publisher = threading.Timer(0.005, reporter.preview_set, args=(PREVIEW,))
        publisher.start()
        for percent in range(1, 8):
            reporter.report(stage="transcoding", percent=percent)
        publisher.join()
    assert overlaps == []
