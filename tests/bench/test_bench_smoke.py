"""`make bench` works: a tiny run of every measurement writes one well-formed table.

It never asserts a timing (the machine is shared and noisy; a benchmark
reports, it does not judge): only that every section measured something,
that every row has the table's shape, and that each target got a verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.table import BEGIN, END, Row, format_table, parse_table, percentile, results_write

REPO = Path(__file__).resolve().parents[2]
SECTIONS = {"1", "2", "3", "4", "5", "8", "9", "10"}


@pytest.mark.timeout(300)
def test_a_tiny_bench_run_writes_one_well_formed_table(tmp_path):
    out, raw = tmp_path / "results.md", tmp_path / "raw.json"
    out.write_text(
        f"# kept above\n\n{BEGIN}\nstale table from an earlier run\n{END}\n\nkept below\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out), "--raw", str(raw)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]

    text = out.read_text()
    assert text.startswith("# kept above")
    assert text.rstrip().endswith("kept below")
    assert "stale table from an earlier run" not in text
    assert "2 cores" in text or " cores (" in text  # the core count and date head the table
    rows = parse_table(text)
    assert {row["#"] for row in rows} == SECTIONS
    for row in rows:
        assert row["measurement"], row
        assert row["system"] not in ("", "n/a"), row
        assert not row["system"].startswith("error"), row
        assert row["met"] in {"yes", "no", "—"}, row
        if row["target"] != "—":
            assert row["met"] in {"yes", "no"}, row
    judged = {row["#"] for row in rows if row["target"] != "—"}
    assert judged == SECTIONS
    # The table on stdout is the one in the file: one table, printed once.
    assert run.stdout.count("| # | measurement |") == 1
    assert parse_table(run.stdout) == rows
    assert json.loads(raw.read_text())["mode"] == "smoke"


def test_table_round_trips_and_escapes_pipes():
    rows = [Row("1", "a | b", "1.00 s [0.90–1.10]", "0.95 s", "1.05", "≤ 1.10", "yes")]
    parsed = parse_table(format_table(rows))
    assert parsed == [
        {
            "#": "1",
            "measurement": "a \\| b",
            "system": "1.00 s [0.90–1.10]",
            "baseline": "0.95 s",
            "ratio": "1.05",
            "target": "≤ 1.10",
            "met": "yes",
        }
    ]


def test_parse_table_refuses_a_malformed_row():
    text = format_table([Row("1", "m", "v")]) + "\n| 2 | too | few |"
    with pytest.raises(ValueError, match="cells"):
        parse_table(text)


def test_results_write_creates_the_file_and_replaces_only_its_block(tmp_path):
    path = tmp_path / "r.md"
    results_write(path, "first")
    assert BEGIN in path.read_text()
    assert "first" in path.read_text()
    path.write_text(path.read_text() + "\nanalysis\n")
    results_write(path, "second")
    assert "second" in path.read_text()
    assert "first" not in path.read_text()
    assert path.read_text().endswith("analysis\n")


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([3.0], 99) == 3.0
