"""Issue 17's one-run comparison, on the same real GZ2 JPEGs and the same cores:

    python benchmarks/bench_ingest_pipeline.py [N_FILES] [--repeats R]

- seed pipeline: cv2.imread + seed-002 ROI + INTER_AREA, in a pool of one process per core
  (files from disk);
- decode only (simplejpeg, bytes in memory, one core) at 1/1, 1/2, 1/4, 1/8 scale;
- in-memory pipeline: ``crop_blobs`` (bytes in memory) on one core and in one worker process
  per core;
- ROI decoder (``galaxyzoo.data.roi_decode``, bytes in memory, one core): ROI at 1/8 and 1/2;
- the CLI, ``galaxyzoo ingest`` (``--decoder full`` and ``roi``) on N files minus on N/10
  files, so start-up is excluded.

Every rate is images/s, best of R rounds (each round runs every case once, so load spikes
spread over all of them); ratios are to the seed pipeline in the same run. The N
files are copied to a temporary folder first (a subset of ``../shared/data/gz2_sample``,
repeated when N exceeds it). Wall time on a shared machine is noisy: compare ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import simplejpeg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ops import seed_roi_resize  # noqa: E402

from galaxyzoo.data import roi_decode  # noqa: E402
from galaxyzoo.workflows.ingest import IngestOptions, crop_blobs  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample" / "images"
OPTS = IngestOptions(size=64)
CHUNK = 128


def _seed_files(paths: list[str]) -> int:
    cv2.setNumThreads(1)
    for p in paths:
        seed_roi_resize(cv2.imread(p, cv2.IMREAD_COLOR))
    return len(paths)


def _crop_chunk(blobs: list[bytes]) -> int:
    return len(crop_blobs(blobs, OPTS).pixels)


def timed(fn):
    """A function returning the seconds one call of ``fn`` takes."""
    def seconds() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    return seconds


def cli_seconds(src: Path, out: Path, decoder: str, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", "import sys; from galaxyzoo.cli import main; sys.exit(main())", "ingest", str(src), "--out", str(out), "--size", "64",
           "--quiet", "--decoder", decoder, "--workers", str(workers)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n, repeats = args.n, args.repeats
    cores = len(os.sched_getaffinity(0))
    files = sorted(SAMPLE.glob("*.jpg"))
    if not files:
        sys.exit(f"gz2_sample not found at {SAMPLE}")
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp, "n"), Path(tmp, "tenth")
        big.mkdir(), small.mkdir()
        for i in range(n):
            shutil.copyfile(files[i % len(files)], big / f"{i:07d}.jpg")
            if i < n // 10:
                shutil.copyfile(files[i % len(files)], small / f"{i:07d}.jpg")
        paths = sorted(str(p) for p in big.iterdir())
        blobs = [Path(p).read_bytes() for p in paths]
        cases: dict[str, tuple] = {}  # name -> (seconds function, images); timed round-robin
        pool = ProcessPoolExecutor(cores)
        list(pool.map(_seed_files, [paths[:8]] * cores))  # start the workers
        chunks = [paths[i:i + CHUNK] for i in range(0, n, CHUNK)]
        byte_chunks = [blobs[i:i + CHUNK] for i in range(0, n, CHUNK)]
        cases[f"seed pipeline (cv2.imread + seed ROI + INTER_AREA), {cores} processes, from disk"] = (
            timed(lambda: sum(pool.map(_seed_files, chunks))), n)
        for d in (1, 2, 4, 8):
            side = -(-424 // d)
            cases[f"decode only 1/{d} (simplejpeg), 1 core"] = (timed(
                lambda side=side: [simplejpeg.decode_jpeg(b, min_height=side, min_width=side) for b in blobs]), n)
        # In chunks, as ingest runs it: one call on all N holds every decoded image at once.
        cases["in-memory pipeline (crop_blobs), 1 core"] = (
            timed(lambda: [crop_blobs(c, OPTS) for c in byte_chunks]), n)
        cases[f"in-memory pipeline (crop_blobs), {cores} processes"] = (
            timed(lambda: sum(pool.map(_crop_chunk, byte_chunks))), n)
        if roi_decode.AVAILABLE:
            for denom in (8, 2):
                cases[f"ROI decoder (ROI at 1/{denom}), 1 core"] = (
                    timed(lambda denom=denom: roi_decode.decode_roi(blobs, 64, roi_denom=denom)), n)
        for decoder in ("full", "roi") if roi_decode.AVAILABLE else ("full",):
            cases[f"galaxyzoo ingest --decoder {decoder} --workers {cores}, (N - N/10) / (t(N) - t(N/10))"] = (
                lambda decoder=decoder: cli_seconds(big, Path(tmp, "out"), decoder, cores)
                - cli_seconds(small, Path(tmp, "out"), decoder, cores), n - n // 10)
        best = {name: float("inf") for name in cases}
        for _ in range(repeats):
            for name, (seconds, _) in cases.items():
                best[name] = min(best[name], seconds())
        pool.shutdown()
        rates = {name: cases[name][1] / best[name] for name in cases}
    seed = next(iter(rates.values()))
    print(f"{n} real GZ2 JPEGs (424x424) -> 64x64, {cores} cores, best of {repeats}")
    for name, rate in rates.items():
        print(f"{rate:9,.0f} images/s  {rate / seed:6.2f}x seed   {name}")


if __name__ == "__main__":
    main()
