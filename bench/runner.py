"""`python -m bench`: start an isolated stack, run the measurements, print ONE
table and write it into bench/results.md (between its markers, so the
analysis written around it stays).

    python -m bench                  # every section but the explorations, full repeats (make bench)
    python -m bench --quick          # fewer repeats (also BENCH_QUICK=1)
    python -m bench --only e2e,messaging
    python -m bench --explore        # also the explorations (EXPLORE below)
    python -m bench --smoke --out /tmp/r.md   # the tiny run the test suite uses

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
    e2e,
    encoding,
    ladder,
    messaging,
    progress,
    responsiveness,
    throughput,
    uploads,
)
from bench.harness import MP4_ONLY, Bench
from bench.params import Params
from bench.procfs import cores, cpu_model
from bench.table import Row, format_table, results_write
from tests.support.stack import REPO, stack_running

SECTIONS = {
    "e2e": ("1", e2e),
    "ladder": ("1", ladder),
    "messaging": ("2", messaging),
    "uploads": ("3", uploads),
    "throughput": ("4", throughput),
    "responsiveness": ("5", responsiveness),
    "progress": ("6", progress),
    "encoding": ("7", encoding),
    "browser": ("8", browser),
}
# Explorations without a target of their own: run with --explore or --only
# (and by --smoke, which checks that every section still runs).
EXPLORE = ("responsiveness", "progress", "encoding")
DEFAULT_OUT = REPO / "bench" / "results.md"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer repeats (or BENCH_QUICK=1)")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the bench runs, no figures"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--explore", action="store_true", help=f"also run the explorations: {', '.join(EXPLORE)}"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default: bench/results.md for a run of every section as configured; "
        "var/bench/results.md for --only, --smoke, --profile or --worker-env runs, so a "
        "partial run never replaces the committed table)",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        default=REPO / "var" / "bench" / "last-run.json",
        help="where to dump every sample as JSON",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, store)")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a worker variable for the whole run (e.g. PROGRESS_INTERVAL=1); "
        "each measurement's own settings still win",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record web, collector and worker with py-spy per section, into "
        "var/bench/profiles/ (folded stacks + a top list); figures get slower",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.smoke:
        mode = "smoke"
    elif args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0"):
        mode = "quick"
    else:
        mode = "full"
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or [
        s for s in SECTIONS if s not in EXPLORE or args.explore or args.smoke
    ]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        print(
            f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 64
    params = Params.for_mode(mode)
    if args.out is None:
        partial = args.only or args.smoke or args.profile or args.worker_env
        args.out = REPO / "var" / "bench" / "results.md" if partial else DEFAULT_OUT
    worker_defaults = dict(item.split("=", 1) for item in args.worker_env)
    started = time.monotonic()
    when = dt.datetime.now().astimezone()
    # Other tenants' load skews every figure: the table says how busy the machine was.
    load_before = os.getloadavg()[1]
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    rows: list[Row] = []
    failed: list[str] = []
    bench: Bench | None = None
    try:
        # The worker is started by Bench.worker(), with the knobs each measurement sets;
        # the web asks for the MP4 alone until Bench.web() switches it (harness.MP4_ONLY).
        with stack_running(
            workdir, start=("web", "collector"), TRANSCODE_PROFILES=MP4_ONLY
        ) as stack:
            bench = Bench(
                stack=stack,
                params=params,
                workdir=workdir,
                worker_defaults=worker_defaults,
                profile_dir=REPO / "var" / "bench" / "profiles" if args.profile else None,
            )
            for name in chosen:
                section, module = SECTIONS[name]
                t = time.monotonic()
                print(f"[bench] {section}. {name} ...", file=sys.stderr, flush=True)
                try:
                    with bench.profiling(name):
                        rows += module.run(bench)
                except Exception as exc:  # noqa: BLE001 - reported in the table, run goes on
                    traceback.print_exc()
                    failed.append(name)
                    rows.append(
                        Row(section, f"{name}: could not be measured", f"error: {exc}"[:300])
                    )
                    print(stack.logs()[-3000:], file=sys.stderr)
                finally:
                    bench.raw.setdefault("durations", {})[name] = round(time.monotonic() - t, 1)
                    print(
                        f"[bench] {section}. {name} took {time.monotonic() - t:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                    try:
                        bench.wait_idle(timeout=300)
                    except RuntimeError as exc:
                        print(f"[bench] {exc}", file=sys.stderr)
    finally:
        if args.keep:
            print(f"[bench] work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    minutes = (time.monotonic() - started) / 60
    header = (
        f"`make bench` ({mode}{', only ' + ', '.join(chosen) if args.only else ''}"
        f"{', with explorations' if args.explore else ''}"
        f"{', under py-spy' if args.profile else ''}"
        f"{''.join(', ' + item for item in args.worker_env)}) — "
        f"{when:%Y-%m-%d %H:%M %Z} — {cores()} cores ({cpu_model()}) — "
        f"took {minutes:.1f} min; 5-min load average {load_before:.1f} before, "
        f"{os.getloadavg()[1]:.1f} after.\n\nCells: median [min–max] over the runs; a ratio is system ÷ baseline "
        "per run, measured side by side in the same run. `met` judges the median; "
        "`—` rows are breakdowns or explorations without a target."
    )
    notes = bench.notes if bench else []
    block = header + "\n\n" + format_table(rows)
    if notes:
        block += "\n\n" + "\n".join(f"- {n}" for n in notes)
    print(block)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results_write(args.out, block)
    if bench is not None:
        args.raw.parent.mkdir(parents=True, exist_ok=True)
        args.raw.write_text(
            json.dumps({"mode": mode, "when": when.isoformat(), **bench.raw}, indent=1, default=str)
        )
    print(f"[bench] table written to {args.out}", file=sys.stderr)
    return 1 if failed else 0
