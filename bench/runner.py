"""`python -m bench`: start an isolated stack, run the measurements, print ONE
table and write it into bench/results.md (between its markers, so the
analysis written around it stays).

    python -m bench                  # every section but the explorations (make bench)
    python -m bench --quick          # fewer repeats (also BENCH_QUICK=1)
    python -m bench --only e2e,messaging
    python -m bench --explore        # also the explorations (EXPLORE below)
    python -m bench --smoke --out /tmp/r.md   # the tiny run the test suite uses

Only a run of every section as configured writes bench/results.md; one with
--only, --smoke, --profile or --worker-env writes var/bench/results.md
instead, so that a partial run never replaces the committed table.

It exits non-zero only when a measurement could not be made at all (an error,
not a slow figure): a benchmark never fails on a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import (
    browser,
    client_view,
    e2e,
    first_frame,
    ladder,
    messaging,
    observability,
    responsiveness,
    throughput,
    uploads,
)
from bench.harness import MP4_ONLY, Bench, cores, cpu_model
from bench.params import MODES
from bench.table import Row, format_table, results_write
from tests.support.stack import REPO, stack_running

SECTIONS = {
    "e2e": ("1", e2e.run),
    "ladder": ("1", ladder.run),
    "client_view": ("1", client_view.run),
    "messaging": ("2", messaging.run),
    "uploads": ("3", uploads.run),
    "throughput": ("4", throughput.run),
    "responsiveness": ("5", responsiveness.run),
    "browser": ("8", browser.run),
    "observability": ("9", observability.run),
    "first_frame": ("10", first_frame.run),
}
# Explorations, run only with --explore or --only (and by --smoke, which checks
# that every section still runs). Sections 6 and 7 were explorations too, since
# removed: bench/results.md says where to find them.
EXPLORE = ("responsiveness",)
DEFAULT_OUT = REPO / "bench" / "results.md"
SECTIONS_TEXT = ", ".join(SECTIONS)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer repeats (or BENCH_QUICK=1)")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes: checks the bench runs")
    parser.add_argument("--only", default="", help=f"a comma-separated subset of: {SECTIONS_TEXT}")
    parser.add_argument("--explore", action="store_true", help=f"also run: {', '.join(EXPLORE)}")
    parser.add_argument("--out", type=Path, help="the results file (default: see above)")
    raw = REPO / "var" / "bench" / "last-run.json"
    parser.add_argument("--raw", type=Path, default=raw, help="every sample, as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, store)")
    env_help = "a worker variable for the whole run; each measurement's own settings still win"
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help=env_help
    )
    profile_help = "py-spy records the services per section, into var/bench/profiles/ (slower)"
    parser.add_argument("--profile", action="store_true", help=profile_help)
    return parser.parse_args(argv)


def sections_run(bench: Bench, *, chosen: list[str], rows: list[Row]) -> list[str]:
    """Run each chosen section, its rows into `rows`; the names of those that failed."""
    failed = []
    for name in chosen:
        section, section_run = SECTIONS[name]
        started = time.monotonic()
        print(f"[bench] {section}. {name} ...", file=sys.stderr, flush=True)
        try:
            with bench.profiling(name):
                rows += section_run(bench)
        except Exception as exc:  # reported in the table; the run goes on
            traceback.print_exc()
            print(bench.stack.logs()[-3000:], file=sys.stderr)
            failed.append(name)
            rows.append(Row(section, f"{name}: could not be measured", f"error: {exc}"[:300]))
        took = time.monotonic() - started
        bench.raw.setdefault("durations", {})[name] = round(took, 1)
        print(f"[bench] {section}. {name} took {took:.0f} s", file=sys.stderr, flush=True)
        try:  # the next section starts on a quiet system
            bench.wait_idle(timeout=300)
        except RuntimeError as exc:
            print(f"[bench] {exc}", file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    mode = "smoke" if args.smoke else "quick" if quick else "full"
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or [
        s for s in SECTIONS if s not in EXPLORE or args.explore or args.smoke
    ]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        print(f"unknown: {', '.join(unknown)}; choose from: {SECTIONS_TEXT}", file=sys.stderr)
        return 64
    if args.out is None:
        partial = args.only or args.smoke or args.profile or args.worker_env
        args.out = REPO / "var" / "bench" / "results.md" if partial else DEFAULT_OUT
    started, when = time.monotonic(), dt.datetime.now().astimezone()
    # Other tenants' load skews every figure: the table says how busy the machine was.
    load_before = os.getloadavg()[1]
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    rows: list[Row] = []
    try:
        # The worker is started by Bench.worker(), with each measurement's settings;
        # the web asks for the MP4 alone until Bench.web() switches it.
        with stack_running(
            workdir, start=("web", "collector"), TRANSCODE_PROFILES=MP4_ONLY
        ) as stack:
            bench = Bench(
                stack=stack,
                params=MODES[mode],
                workdir=workdir,
                worker_defaults=dict(item.split("=", 1) for item in args.worker_env),
                profile_dir=REPO / "var" / "bench" / "profiles" if args.profile else None,
            )
            failed = sections_run(bench, chosen=chosen, rows=rows)
    finally:
        if args.keep:
            print(f"[bench] work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    how = [mode, *([f"only {', '.join(chosen)}"] if args.only else [])]
    how += ["with explorations"] * args.explore + ["under py-spy"] * args.profile
    block = (
        f"`make bench` ({', '.join(how + args.worker_env)}) — {when:%Y-%m-%d %H:%M %Z} — "
        f"{cores()} cores ({cpu_model()}) — took {(time.monotonic() - started) / 60:.1f} min; "
        f"5-min load average {load_before:.1f} before, {os.getloadavg()[1]:.1f} after.\n\n"
        "Cells: median [min–max] over the runs; a ratio is system ÷ baseline per run, "
        "measured side by side in the same run. `met` judges the median; "
        "`—` rows are breakdowns or explorations without a target.\n\n" + format_table(rows)
    )
    print(block)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results_write(args.out, block)
    args.raw.parent.mkdir(parents=True, exist_ok=True)
    raw = {"mode": mode, "when": when.isoformat(), **bench.raw}
    args.raw.write_text(json.dumps(raw, indent=1, default=str))
    print(f"[bench] table written to {args.out}", file=sys.stderr)
    return 1 if failed else 0
