"""Native preprocessing vs the seed's OpenCV loop, on 512 real 424×424 images in memory.

The baseline is Hildebrandt's ROI (grey, threshold 10, findContours, largest bounding box,
padded square or the whole image) followed by an INTER_AREA resize to 64×64, one image at a
time on one core, measured in the same run. Ratios are gated generously (wall time on a
shared 2-core machine is noisy); the issue's target is 10× per core.
"""
from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from galaxyzoo import ops

SIZE = 64
GATE = 5.0  # per-core speed-up over the seed loop that must hold even on a noisy machine


def seed_roi_resize(img: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    _, mask = cv2.threshold(grey, 10, 255, 0)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    roi, roi_area = (0, 0, 0, 0), 0
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * h > roi_area:
            roi_area, roi = w * h, (x, y, w, h)
    x, y, w, h = roi
    side = max(w, h)
    pad = int(side * 0.1)
    if roi_area and y - pad >= 0 and x - pad >= 0 and y + side + pad < img.shape[0] \
            and x + side + pad < img.shape[1]:
        img = img[y - pad:y + side + pad, x - pad:x + side + pad]
    return cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def seed_seconds(gz2_images) -> float:
    """The seed loop's best time per image over 3 rounds, one OpenCV thread."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for img in gz2_images:
                seed_roi_resize(img)
            best = min(best, time.perf_counter() - start)
    finally:
        cv2.setNumThreads(threads)
    return best / len(gz2_images)


def run(benchmark, fn, images):
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    per_image = benchmark.stats.stats.min / len(images)
    benchmark.extra_info["us_per_image"] = round(per_image * 1e6, 1)
    benchmark.extra_info["images_per_s"] = round(1 / per_image)
    return per_image


def report(benchmark, summary_line, name, per_image, seed_seconds, threads=1):
    ratio = seed_seconds / per_image
    benchmark.extra_info["speedup_vs_seed"] = round(ratio, 2)
    summary_line(f"{name}: {per_image * 1e6:.0f} µs/image ({1 / per_image:.0f}/s, {threads} "
                 f"thread(s)) = {ratio:.1f}x the seed loop ({seed_seconds * 1e6:.0f} µs/image, "
                 f"{1 / seed_seconds:.0f}/s on one core)")
    return ratio


def test_seed_opencv_loop(benchmark, gz2_images, seed_seconds):
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        run(benchmark, lambda: [seed_roi_resize(im) for im in gz2_images], gz2_images)
    finally:
        cv2.setNumThreads(threads)


@pytest.mark.parametrize("mode,threshold", [("seed", 10), ("central", "auto")])
def test_preprocess_one_thread(benchmark, summary_line, gz2_images, seed_seconds, mode, threshold):
    per_image = run(benchmark, lambda: ops.preprocess(gz2_images, SIZE, mode=mode,
                                                      threshold=threshold, num_threads=1),
                    gz2_images)
    ratio = report(benchmark, summary_line, f"preprocess mode={mode} threshold={threshold}",
                   per_image, seed_seconds)
    assert ratio >= GATE


def test_preprocess_all_cores(benchmark, summary_line, gz2_images, seed_seconds):
    threads = len(os.sched_getaffinity(0))
    per_image = run(benchmark, lambda: ops.preprocess(gz2_images, SIZE), gz2_images)
    ratio = report(benchmark, summary_line, "preprocess central/auto, all cores", per_image,
                   seed_seconds, threads)
    assert ratio >= GATE


def test_find_roi_one_thread(benchmark, summary_line, gz2_images, seed_seconds):
    per_image = run(benchmark, lambda: ops.find_roi(gz2_images, num_threads=1), gz2_images)
    report(benchmark, summary_line, "find_roi central/auto", per_image, seed_seconds)


@pytest.mark.parametrize("rotate", [False, True], ids=["plain", "rotated"])
def test_crop_resize_one_thread(benchmark, summary_line, gz2_images, seed_seconds, rotate):
    """With boxes cached (every epoch after the first); rotated: random angles."""
    boxes = ops.find_roi(gz2_images)
    angles = np.random.default_rng(0).uniform(0, 360, len(gz2_images)) if rotate else None
    per_image = run(benchmark, lambda: ops.crop_resize(gz2_images, boxes, SIZE, angles=angles,
                                                       num_threads=1), gz2_images)
    report(benchmark, summary_line, f"crop_resize {'rotated' if rotate else 'plain'}, cached boxes",
           per_image, seed_seconds)
