"""Numbers to one Markdown table, and that table into bench/results.md.

Every row compares a figure of the system with a baseline measured in the
same run. A cell shows the median over the runs, then [min–max]. The ratio is
computed per run (system_i / baseline_i) before it is summarised, so noise
that hits both sides of one run cancels out.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

COLUMNS = ("#", "measurement", "system", "baseline", "ratio", "target", "met")
BEGIN = "<!-- bench:table:begin (written by `make bench`; edit outside these markers) -->"
END = "<!-- bench:table:end -->"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0–100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def fmt(values: Sequence[float], unit: str = "", *, digits: int = 2, scale: float = 1.0) -> str:
    """'median unit [min–max]' (just the median when there is one value)."""
    values = _finite([v * scale for v in values])
    if not values:
        return "n/a"
    unit_text = f" {unit}" if unit else ""
    low, high = min(values), max(values)
    median = f"{statistics.median(values):.{digits}f}{unit_text}"
    return median if low == high else f"{median} [{low:.{digits}f}–{high:.{digits}f}]"


def ratios(system: Sequence[float], baseline: Sequence[float]) -> list[float]:
    return [s / b for s, b in zip(system, baseline, strict=False) if b]


def verdict(values: Sequence[float], ok: Callable[[float], bool]) -> str:
    """'yes'/'no' judged on the median; 'n/a' when there is nothing to judge."""
    values = _finite(values)
    if not values:
        return "n/a"
    return "yes" if ok(statistics.median(values)) else "no"


@dataclass(frozen=True)
class Row:
    section: str
    measurement: str
    system: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"

    def cells(self) -> tuple[str, ...]:
        return tuple(str(c).replace("|", "\\|").replace("\n", " ") for c in astuple(self))


def compared(
    section: str,
    label: str,
    system: Sequence[float],
    baseline: Sequence[float],
    *,
    unit: str,
    digits: int = 2,
    baseline_note: str = "",
    target: str = "—",
    ok: Callable[[float], bool] | None = None,
) -> Row:
    """A row of the system against its baseline, `ok` judging their per-run ratios."""
    r = ratios(system, baseline)
    note = f" ({baseline_note})" if baseline_note else ""
    return Row(
        section,
        label,
        fmt(system, unit, digits=digits),
        fmt(baseline, unit, digits=digits) + note,
        fmt(r),
        target,
        verdict(r, ok) if ok else "—",
    )


def format_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of the table in `text` (as written by format_table), as dicts.

    Raises ValueError if the table is missing or a row has the wrong shape.
    """
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = "| " + " | ".join(COLUMNS) + " |"
    if header not in lines:
        raise ValueError("no bench table header found")
    start = lines.index(header)
    if not re.fullmatch(r"\|(---\|)+", lines[start + 1]):
        raise ValueError("the header is not followed by a separator line")
    rows = []
    for line in lines[start + 2 :]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != len(COLUMNS):
            raise ValueError(f"row has {len(cells)} cells, expected {len(COLUMNS)}: {line}")
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def results_write(path: Path, block: str) -> None:
    """Replace the generated block of `path`, keeping any text written around it."""
    generated = f"{BEGIN}\n{block.rstrip()}\n{END}"
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + generated + tail)
            return
    path.write_text("# Benchmark results\n\n" + generated + "\n")
