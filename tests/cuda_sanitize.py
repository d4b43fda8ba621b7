"""A small tour of every CUDA kernel for compute-sanitizer (``make gpu-test`` runs it under
memcheck, racecheck, initcheck and synccheck): auto and fixed thresholds, both ROI modes,
right and free angles, flips, grey and uint8 output, odd and one-pixel sizes. Results are
checked against the CPU backend so a run that is clean but wrong still fails.

    compute-sanitizer --tool memcheck --error-exitcode 1 python tests/cuda_sanitize.py
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from galaxyzoo import ops


def images(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    sky = rng.normal(6, 2, (n, h, w, 3))
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, max(3, min(h, w) / 3))
        sky[i] += 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r**2)[..., None]
    return np.clip(sky, 0, 255).astype(np.uint8)


def main() -> int:
    if not ops.cuda_available():
        print(f"cuda_sanitize: skipped, no CUDA device ({ops.cuda_unavailable_reason()})")
        return 0
    rng = np.random.default_rng(0)
    cases = [
        (images(rng, 5, 67, 93), dict(size=32, mode="central", threshold="auto", angles=rng.uniform(0, 360, 5))),
        (images(rng, 4, 64, 64), dict(size=17, mode="seed", threshold=10, angles=[0, 90, 180, 270], flips=[0, 1, 2, 3],
                                      out_dtype="uint8")),
        (images(rng, 3, 1, 1), dict(size=3, grayscale=True, interp="bilinear")),
        (images(rng, 2, 40, 2), dict(size=8, mean=[0.5, 0.4, 0.3], std=[0.2, 0.2, 0.2], angles=[45, 10])),
    ]
    failures = 0
    for host, kwargs in cases:
        want, want_boxes = ops.preprocess(host, return_boxes=True, **kwargs)
        moved = {k: torch.as_tensor(v).cuda() if k in ("angles", "flips") else v for k, v in kwargs.items()}
        got, boxes = ops.preprocess(torch.from_numpy(host).cuda(), return_boxes=True, **moved)
        torch.cuda.synchronize()
        same_boxes = torch.equal(boxes.cpu(), want_boxes)
        diff = (got.cpu().double() - want.double()).abs().max().item()
        ok = same_boxes and diff <= (0 if want.dtype == torch.uint8 else 1e-4)
        failures += not ok
        print(f"{host.shape} {kwargs.get('mode', 'central')}: boxes {'equal' if same_boxes else 'DIFFER'},"
              f" max pixel difference {diff:.2e} -> {'ok' if ok else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
