"""Is training on the GZ2 sample starved by the loader?  resnet_small at 64 px, batch 64.

    python benchmarks/loader_vs_train.py [--batches 30] [--workers N] [--shards DIR]

Three rates, images/s, each after one warm-up batch: the loader alone (decode + ROI + crop
with rotation/flip augmentation, in its worker processes), the training step alone (forward,
backward, AdamW on one batch held in memory) and the two together as ``train`` runs them.
Training is not starved when "together" is close to "train step alone", i.e. when the
loader alone is clearly faster than the step. On a CPU-only machine loader workers and the
step share the same cores, so "together" is the figure that counts. ``--shards DIR`` reads
the crops a ``galaxyzoo ingest --size 64`` of the sample wrote instead of the JPEGs (labels
are then all zero: only speed is measured).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import galaxyzoo
from galaxyzoo.data.augment import Augment
from galaxyzoo.data.pipeline import BatchLoader, default_workers
from galaxyzoo.data.preprocessing import Preprocessing
from galaxyzoo.data.shards import ShardDataset

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"


def rate(batches, step=None, n: int = 30) -> float:
    """images/s over ``n`` batches after the first (worker start-up and warm-up excluded)."""
    it = iter(batches)
    first = next(it)
    if step:
        step(first)
    seen, start = 0, time.perf_counter()
    for _ in range(n):
        batch = next(it)
        if step:
            step(batch)
        seen += len(batch.indices)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--shards", type=Path, help="a `galaxyzoo ingest` folder to read instead")
    args = parser.parse_args()

    if args.shards:
        data, prep = ShardDataset(args.shards), Preprocessing(size=64, mode=None)
    else:
        data, prep = galaxyzoo.create_dataset("gz2_sample", "train", root=str(SAMPLE)), Preprocessing(size=64)
    loader = BatchLoader(data, prep, batch_size=64, shuffle=True,
                         augment=Augment(rotate=True, flip=True), workers=args.workers)
    model = galaxyzoo.create_model("resnet_small", num_outputs=2, input_size=64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(batch) -> None:
        loss = torch.nn.functional.cross_entropy(model(batch.images), batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    loader_only = rate(loader, n=args.batches)
    held = next(iter(loader))
    step_only = rate((held for _ in iter(int, 1)), step, n=max(5, args.batches // 3))
    together = rate(loader, step, n=max(5, args.batches // 3))
    print(f"{len(data)} {'ingested crops' if args.shards else 'training JPEGs'}, batch 64, resnet_small at 64 px, {args.workers} loader workers, "
          f"{torch.get_num_threads()} torch threads")
    print(f"loader alone:        {loader_only:8.0f} images/s")
    print(f"train step alone:    {step_only:8.0f} images/s")
    print(f"loader + train step: {together:8.0f} images/s "
          f"({together / step_only:.0%} of the step alone; loader/step = {loader_only / step_only:.1f}x)")


if __name__ == "__main__":
    main()
