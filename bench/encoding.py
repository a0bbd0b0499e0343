"""7. Encoding defaults on evidence: the 720p profile's libx264 preset/CRF
(transcoder/media/profiles.py) against alternatives, on generated sources.

Each configuration runs the worker's own transcode argv (bench/worker_argv.py
with --preset/--crf replacing those two profile fields; -threads at the
service default) and reports encode speed (frames per wall second), CPU
seconds (the child's user+system time), output bitrate, and quality against
the source as ffmpeg's own `ssim` and `psnr` filters measure it (the output
scaled back to the source's size with scale2ref first). The first
configuration, the current default, is every row's baseline.

Sources: `testsrc2` (the bench clip: flat colours, sharp edges, text) and
`mandelbrot` (a continuous zoom into fine detail: closer to camera texture).
Synthetic content flatters an encoder; treat the ranking, not the absolute
SSIM, as the finding.
"""

from __future__ import annotations

import itertools
import math
import re
import resource
import subprocess
import time
from pathlib import Path

from bench.direct import run_argv
from bench.harness import Bench
from bench.table import Row, Summary

SSIM_RE = re.compile(r"SSIM .*All:([0-9.]+)")
PSNR_RE = re.compile(r"PSNR .*average:([0-9.inf]+)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def quality(output: Path, source: Path) -> tuple[float, float]:
    """(SSIM 'All', PSNR average dB) of `output` against `source`."""
    graph = (
        "[0:v][1:v]scale2ref=flags=bicubic[d][r];[d]split[d1][d2];[r]split[r1][r2];"
        "[d1][r1]ssim;[d2][r2]psnr"
    )
    out = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(output),
            "-i",
            str(source),
            "-lavfi",
            graph,
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stderr
    ssim, psnr = SSIM_RE.search(out), PSNR_RE.search(out)
    if not ssim or not psnr:
        raise RuntimeError(f"no SSIM/PSNR in ffmpeg's output: {out[-500:]}")
    return float(ssim.group(1)), float(psnr.group(1))


def frames_of(path: Path) -> int:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def ssim_db(ssim: float) -> float:
    return -10 * math.log10(1 - ssim) if ssim < 1 else float("inf")


def measure(bench: Bench, source: Path, preset: str, crf: int) -> dict:
    cmds = bench.argv_for(source, bench.scratch(f"enc-{preset}-{crf}"), preset=preset, crf=crf)
    output = Path(cmds.raw["rendition"])
    walls, cpus = [], []
    for _ in range(bench.params.enc_repeats):
        cpu0, t0 = _children_cpu(), time.perf_counter()
        run_argv(cmds.transcode)
        walls.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - cpu0)
    frames = frames_of(output)
    ssim, psnr = quality(output, source)
    result = {
        "preset": preset,
        "crf": crf,
        "frames": frames,
        "wall": Summary.of(walls).median,
        "cpu": Summary.of(cpus).median,
        "walls": walls,
        "cpus": cpus,
        "kbps": output.stat().st_size * 8 / cmds.raw["duration"] / 1000,
        "ssim": ssim,
        "ssim_db": ssim_db(ssim),
        "psnr": psnr,
    }
    output.unlink()
    return result


def equal_quality_kbps(curve: list[dict], target_db: float) -> float | None:
    """The bitrate the default preset needs for `target_db` of SSIM, from its CRF points.

    Piecewise linear in (SSIM dB, log bitrate), extrapolated from the end
    segments: a one-preset rate–quality curve, the idea behind BD-rate.
    """
    points = sorted((m["ssim_db"], math.log(m["kbps"])) for m in curve)
    if len(points) < 2:
        return None
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if target_db <= x1 or (x1, y1) == points[-1]:
            if x1 == x0:
                return math.exp(y0)
            return math.exp(y0 + (target_db - x0) * (y1 - y0) / (x1 - x0))
    return None


def _describe(m: dict) -> str:
    return (
        f"SSIM {m['ssim']:.4f} ({m['ssim_db']:.2f} dB) · PSNR {m['psnr']:.2f} dB · "
        f"{m['kbps'] / 1000:.2f} Mbit/s · {m['frames'] / m['wall']:.0f} fps · {m['cpu']:.1f} CPU-s"
    )


def run(bench: Bench) -> list[Row]:
    p = bench.params
    w, h = p.clip_size
    rows: list[Row] = []
    bench.raw["encoding"] = {}
    for content in p.enc_contents:
        source = bench.clip(content, seconds=p.clip_seconds, width=w, height=h)
        results = [measure(bench, source, preset, crf) for preset, crf in p.enc_configs]
        bench.raw["encoding"][content] = results
        base = results[0]
        curve = [m for m in results if m["preset"] == base["preset"]]
        for i, m in enumerate(results):
            name = f"{m['preset']}/crf {m['crf']}"
            if i == 0:
                rows.append(
                    Row(
                        "7",
                        f"{content} {p.clip_seconds:g} s {w}×{h}: {name} (current default)",
                        _describe(m),
                        "—",
                        "—",
                    )
                )
                continue
            same_quality = ""
            if m["preset"] != base["preset"]:
                equiv = equal_quality_kbps(curve, m["ssim_db"])
                if equiv:
                    same_quality = (
                        f" · bitrate vs {base['preset']} at equal SSIM: "
                        f"{(m['kbps'] / equiv - 1) * 100:+.0f} %"
                    )
            rows.append(
                Row(
                    "7",
                    f"· {content}: {name}",
                    _describe(m),
                    "default above",
                    f"CPU ×{m['cpu'] / base['cpu']:.2f} · size ×{m['kbps'] / base['kbps']:.2f} · "
                    f"SSIM {m['ssim_db'] - base['ssim_db']:+.2f} dB · PSNR {m['psnr'] - base['psnr']:+.2f} dB"
                    + same_quality,
                )
            )
    return rows
