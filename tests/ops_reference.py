"""Slow, obvious NumPy references for galaxyzoo.ops, written from the rules in
csrc/gz_common.h (not from the C++ code), plus the seed-002 OpenCV ROI algorithm."""
from __future__ import annotations

import math

import numpy as np

HIST_STEP = 4
MIN_MARGIN = 4


def gray(img: np.ndarray) -> np.ndarray:
    """OpenCV's fixed-point RGB->GRAY of uint8 H×W×3, as int64."""
    r, g, b = (img[..., c].astype(np.int64) for c in range(3))
    return (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14


def auto_threshold(img: np.ndarray, k: float = 3.0) -> int:
    samples = np.sort(gray(img)[::HIST_STEP, ::HIST_STEP].ravel())
    half = math.ceil(samples.size / 2) - 1  # smallest v with 2 * count(<= v) >= n
    median = int(samples[half])
    mad = int(np.sort(np.abs(samples - median))[half])
    return min(255, median + max(MIN_MARGIN, math.ceil(k * 1.4826 * mad)))


def components(fg: np.ndarray) -> list[dict]:
    """8-connected components of a bool mask by min-label propagation: every foreground pixel
    starts with its raster index and repeatedly takes the smallest label among its 8
    neighbours, so each component ends labelled with the raster index of its first pixel."""
    h, w = fg.shape
    big = h * w
    labels = np.where(fg, np.arange(big).reshape(h, w), big)
    while True:
        padded = np.pad(labels, 1, constant_values=big)
        best = labels.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                best = np.minimum(best, padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w])
        best = np.where(fg, best, big)
        if np.array_equal(best, labels):
            break
        labels = best
    ys, xs = np.nonzero(fg)
    dist2 = (2 * xs + 1 - w) ** 2 + (2 * ys + 1 - h) ** 2
    out = []
    for first in np.unique(labels[fg]):
        sel = labels[ys, xs] == first
        out.append(dict(x0=int(xs[sel].min()), y0=int(ys[sel].min()), x1=int(xs[sel].max()) + 1,
                        y1=int(ys[sel].max()) + 1, count=int(sel.sum()), first=int(first),
                        dist2=int(dist2[sel].min())))
    return out


def choose(comps: list[dict], mode: str) -> dict | None:
    if not comps:
        return None
    if mode == "seed":  # largest bbox area; ties: the last discovered (larger first index)
        return max(comps, key=lambda c: ((c["x1"] - c["x0"]) * (c["y1"] - c["y0"]), c["first"]))
    return min(comps, key=lambda c: (c["dist2"], -c["count"], c["first"]))


def seed_box(c: dict, w: int, h: int, pad: float) -> tuple[int, int, int, int]:
    side = max(c["x1"] - c["x0"], c["y1"] - c["y0"])
    p = int(pad * side)
    x, y = c["x0"], c["y0"]
    if x - p >= 0 and y - p >= 0 and x + side + p < w and y + side + p < h:
        return (x - p, y - p, x + side + p, y + side + p)
    return (0, 0, w, h)


def central_box(c: dict, w: int, h: int, pad: float) -> tuple[int, int, int, int]:
    side0 = max(c["x1"] - c["x0"], c["y1"] - c["y0"])
    side = min(side0 + 2 * int(pad * side0), w, h)
    bx = min(max((c["x0"] + c["x1"] - side) // 2, 0), w - side)
    by = min(max((c["y0"] + c["y1"] - side) // 2, 0), h - side)
    return (bx, by, bx + side, by + side)


def find_roi(img: np.ndarray, mode: str = "central", threshold="auto", pad: float = 0.1,
             k: float = 3.0) -> tuple[int, int, int, int]:
    h, w, _ = img.shape
    t = auto_threshold(img, k) if threshold == "auto" else threshold
    best = choose(components(gray(img) > t), mode)
    if best is None:
        return (0, 0, w, h)
    return (seed_box if mode == "seed" else central_box)(best, w, h, pad)


def opencv_seed_roi(img: np.ndarray, threshold: int = 10, pad: float = 0.1):
    """Hildebrandt's ROI with OpenCV (RGB input converted with COLOR_RGB2GRAY), as a box."""
    import cv2

    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    _, mask = cv2.threshold(g, threshold, 255, 0)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    roi, roi_area = (0, 0, 0, 0), 0
    for contour in contours:
        x, y, width, height = cv2.boundingRect(contour)
        if width * height > roi_area:
            roi_area, roi = width * height, (x, y, width, height)
    x, y, width, height = roi
    side = max(width, height)
    p = int(side * pad)
    h, w = g.shape
    if roi_area and y - p >= 0 and x - p >= 0 and y + side + p < h and x + side + p < w:
        return (x - p, y - p, x + side + p, y + side + p)
    return (0, 0, w, h)


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def axis_matrix(length: int, size: int, linear: bool) -> np.ndarray:
    """size × length float64 weights: exact box averaging (INTER_AREA), or OpenCV's
    INTER_AREA up-scaling rule (2-tap linear with its own phase) when linear."""
    m = np.zeros((size, length))
    for k in range(size):
        if linear:
            sx = (k * length) // size
            if sx >= length - 1:
                m[k, length - 1] = 1.0
                continue
            fx = (k + 1) - (sx + 1) * size / length
            fx = 0.0 if fx <= 0 else fx - math.floor(fx)
            m[k, sx], m[k, sx + 1] = 1.0 - fx, fx
        else:
            lo, hi = k * length / size, (k + 1) * length / size
            for x in range(int(lo), min(length, math.ceil(hi))):
                m[k, x] = (min(hi, x + 1) - max(lo, x)) / (hi - lo)
    return m


def resample(img: np.ndarray, box, size: int, grayscale: bool = False) -> np.ndarray:
    """Exact (float64) INTER_AREA of the box to size×size, C×S×S in grey levels."""
    x0, y0, x1, y1 = box
    src = img[y0:y1, x0:x1]
    src = gray(src)[..., None] if grayscale else src.astype(np.float64)
    linear = (x1 - x0) < size or (y1 - y0) < size
    wy, wx = axis_matrix(y1 - y0, size, linear), axis_matrix(x1 - x0, size, linear)
    return np.stack([wy @ src[..., c] @ wx.T for c in range(src.shape[2])])


def rotated(img: np.ndarray, box, size: int, cos: float, sin: float, flips: int = 0,
            taps: int | None = None, grayscale: bool = False) -> np.ndarray:
    """The supersampled-bilinear rule in float32, operation by operation, C×S×S."""
    f = np.float32
    h, w, _ = img.shape
    src = gray(img)[..., None] if grayscale else img
    x0, y0, x1, y1 = box
    bw, bh = f(x1 - x0), f(y1 - y0)
    n = taps or max(1, -(-max(x1 - x0, y1 - y0) // size))
    cx, cy = f(0.5) * f(x0 + x1), f(0.5) * f(y0 + y1)
    cs, sn = f(cos), f(sin)
    o = np.arange(size, dtype=f)
    total = np.zeros((src.shape[2], size, size), dtype=f)
    for j in range(n):
        v = (o[:, None] + (f(j) + f(0.5)) / f(n)) / f(size) - f(0.5)
        if flips & 2:
            v = -v
        for i in range(n):
            u = (o[None, :] + (f(i) + f(0.5)) / f(n)) / f(size) - f(0.5)
            if flips & 1:
                u = -u
            ru, rv = cs * u - sn * v, sn * u + cs * v
            px, py = cx + bw * ru, cy + bh * rv
            fx, fy = px - f(0.5), py - f(0.5)
            flx, fly = np.floor(fx), np.floor(fy)
            ax, ay = fx - flx, fy - fly
            xa, xb = np.clip(flx, 0, w - 1).astype(int), np.clip(flx + 1, 0, w - 1).astype(int)
            ya, yb = np.clip(fly, 0, h - 1).astype(int), np.clip(fly + 1, 0, h - 1).astype(int)
            for c in range(src.shape[2]):
                p = lambda yy, xx: src[yy, xx, c].astype(f)  # noqa: E731
                top = (f(1) - ax) * p(ya, xa) + ax * p(ya, xb)
                bot = (f(1) - ax) * p(yb, xa) + ax * p(yb, xb)
                total[c] += (f(1) - ay) * top + ay * bot
    return total / f(n * n)
