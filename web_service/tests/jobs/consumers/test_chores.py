"""The collector's chores: each on its own interval, and one failing stops none of the others."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from django.db import DatabaseError

from jobs.consumers.chores import Chore, Chores, collector_chores


def _run_at(chores: Chores, ran: list[str], times: tuple[float, ...]) -> dict[float, list[str]]:
    """Which chores ran at each of `times`, in order."""
    schedule: dict[float, list[str]] = {}
    for now in times:
        ran.clear()
        chores.run_due(now=now)
        schedule[now] = list(ran)
    return schedule


def test_each_chore_runs_at_its_own_interval():
    ran: list[str] = []
    chores = Chores(
        Chore(name="often", interval=10, run=lambda: ran.append("often")),
        Chore(name="seldom", interval=30, run=lambda: ran.append("seldom")),
    )

    assert _run_at(chores, ran, (0.0, 5.0, 10.0, 20.0, 29.0, 30.0, 40.0)) == {
        0.0: ["often", "seldom"],
        5.0: [],
        10.0: ["often"],
        20.0: ["often"],
        29.0: [],
        30.0: ["often", "seldom"],
        40.0: ["often"],
    }


def test_a_chore_that_fails_is_logged_waits_its_turn_and_the_others_still_run(caplog):
    ran: list[str] = []

    def database_away() -> None:
        ran.append("failing")
        raise DatabaseError("connection refused")

    chores = Chores(
        Chore(name="failing", interval=10, run=database_away, survives=(DatabaseError,)),
        Chore(name="after", interval=1, run=lambda: ran.append("after")),
    )
    with caplog.at_level(logging.WARNING, logger="jobs.consumers.chores"):
        schedule = _run_at(chores, ran, (0.0, 1.0, 10.0))

    # Not tried again at every message: at its next turn.
    assert schedule == {0.0: ["failing", "after"], 1.0: ["after"], 10.0: ["failing", "after"]}
    assert [r.getMessage() for r in caplog.records] == [
        "failing skipped until its next turn: DatabaseError: connection refused"
    ] * 2


def test_an_error_a_chore_does_not_survive_leaves_the_loop():
    # A broker error must reach kombu's loop, which reconnects; a bug must show.
    def broker_gone() -> None:
        raise ConnectionResetError("broker gone")

    chores = Chores(Chore(name="reap", interval=1, run=broker_gone, survives=(DatabaseError,)))
    with pytest.raises(ConnectionResetError):
        chores.run_due(now=0.0)


@pytest.mark.parametrize("error", [OSError("raw socket error"), DatabaseError("gone")])
def test_the_sweep_lets_no_store_or_socket_error_reach_kombu(error):
    # kombu takes any OSError for a lost broker connection and reconnects.
    (sweep,) = [
        chore
        for chore in collector_chores(relay_interval=1, replies_channel=lambda: None).chores
        if chore.name == "uploads_sweep"
    ]

    def fail() -> None:
        raise error

    Chores(dataclasses.replace(sweep, run=fail)).run_due(now=0.0)  # does not raise
