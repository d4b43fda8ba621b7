"""Ingest and predict throughput on the GZ2 sample: one process, the local process pool, and
Dask local clusters of 1 and 2 worker processes (one thread each), measured in the same run.

    python benchmarks/bench_scaleout.py [N_IMAGES] [--repeats R]

Ingest: JPEG files on disk → 64-px crop shards + manifest (``galaxyzoo ingest``), into a fresh
folder each time. Predict: those shards → a vote-fraction catalog with ``resnet_small``
(~0.3 M parameters, weights from a one-epoch run on synthetic galaxies: speed does not depend
on the weights), batch 64, on the CPU. images/s is the best of ``R`` runs; a Dask cluster's
start-up (and its workers' first imports) is timed apart, not counted. Every engine's output is
checked to be byte-identical to the single-process run's. Dask's worker processes run torch on
one thread each (its nanny sets OMP_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from galaxyzoo.workflows.dask_engine import dask_client, dask_ingest, dask_predict
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import ingest, IngestOptions
from galaxyzoo.workflows.predict import predict_files
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample" / "images"
OPTS = IngestOptions(size=64)


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def timed_best(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n_images", type=int, nargs="?", help="first N files of the sample (default: all)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    inputs = list(walk_images(SAMPLE))[:args.n_images]
    if not inputs:
        print(f"gz2_sample not found at {SAMPLE}", file=sys.stderr)
        return 2
    n = len(inputs)
    work = Path(tempfile.mkdtemp(prefix="bench_scaleout_"))
    rows: list[tuple[str, str, float]] = []
    notes: list[str] = []
    try:
        config = TrainConfig(model="resnet_small", dataset="synthetic_votes", input_size=64, epochs=1,
                             batch_size=32, dataset_options={"num_samples": 64, "image_size": 64})
        with contextlib.redirect_stdout(io.StringIO()):  # its epoch line is not a result here
            checkpoint = train(config, work / "run", workers=0, progress=False).best
        shards = work / "reference"
        ingest(inputs, shards, OPTS, workers=0, progress=False)  # the single-process reference
        reference = outputs(shards)

        def run_ingest(label: str, fn) -> None:
            def once():
                out = work / "ingest"
                shutil.rmtree(out, ignore_errors=True)
                fn(out)
                return outputs(out)

            seconds, result = timed_best(once, args.repeats)
            assert result == reference, f"{label}: output differs from the single-process run"
            rows.append(("ingest", label, n / seconds))
            print(f"ingest, {label}: {n / seconds:.0f} images/s", flush=True)

        reference_catalog = None

        def run_predict(label: str, fn) -> None:
            nonlocal reference_catalog
            out = work / "catalog.csv"
            seconds, _ = timed_best(lambda: fn(out), args.repeats)
            reference_catalog = reference_catalog or out.read_bytes()
            assert out.read_bytes() == reference_catalog, f"{label}: catalog differs"
            rows.append(("predict", label, n / seconds))
            print(f"predict, {label}: {n / seconds:.0f} images/s", flush=True)

        cores = len(os.sched_getaffinity(0))
        run_ingest("local, 1 process", lambda out: ingest(inputs, out, OPTS, workers=0, progress=False))
        run_ingest(f"local process pool, {cores} workers",
                   lambda out: ingest(inputs, out, OPTS, workers=cores, progress=False))
        run_predict(f"local, 1 process, torch on {torch.get_num_threads()} threads",
                    lambda out: predict_files(checkpoint, [shards], out, device="cpu", progress=False))
        for workers in (1, 2):
            start = time.perf_counter()
            with dask_client(workers=workers) as client:
                client.run(lambda: __import__("galaxyzoo.workflows.dask_engine"))  # workers' first imports
                notes.append(f"Dask local cluster of {workers}: {time.perf_counter() - start:.1f} s to start "
                             "(not counted)")
                run_ingest(f"Dask, {workers} worker(s)",
                           lambda out: dask_ingest(inputs, out, client, OPTS, progress=False))
                run_predict(f"Dask, {workers} worker(s)",
                            lambda out: dask_predict(checkpoint, [shards], out, client, device="cpu",
                                                     progress=False))
        torch.set_num_threads(1)
        run_predict("local, 1 process, torch on 1 thread",
                    lambda out: predict_files(checkpoint, [shards], out, device="cpu", threads=1,
                                              progress=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{n} GZ2 sample images, {os.cpu_count()} CPU cores, best of {args.repeats}; "
          "every output byte-identical to the single-process run's\n")
    print("| step | engine | images/s |\n|---|---|---:|")
    for step, label, rate in rows:
        print(f"| {step} | {label} | {rate:.0f} |")
    print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
