"""Argument checks and conversions shared by the native ops on both backends: the scalar
options, normalisation, and the rotation as (cos, sin) computed bit-identically on any device."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import _native

_MODES = {"seed": _native.MODE_SEED, "central": _native.MODE_CENTRAL}


# 1/k! as float64: the Taylor coefficients of sin and cos on [-pi/4, pi/4] (the x**21 and
# x**22 terms are below 2**-60 of the result).
_SIN = [(-1.0) ** m / math.factorial(2 * m + 1) for m in range(10)]
_COS = [(-1.0) ** m / math.factorial(2 * m) for m in range(11)]
_DEG = math.pi / 180.0


def _cos_sin_degrees(a: torch.Tensor) -> torch.Tensor:
    """float64 N×2 (cos, sin) of float64 degrees, on a's device, bit-identical on every device:
    only IEEE +, -, *, /, fmod and round (each its own kernel, so never contracted into an
    FMA), no library sin/cos whose last bit differs between the CPU and CUDA. Exact multiples
    of 90 (a / 90 an integer, the old rule) give exact 0/±1, so they take the integer path.
    Non-finite angles give NaN."""
    a = torch.remainder(a, 360.0)  # fmod-based: exact
    quarter = a / 90.0
    q = torch.round(quarter)
    right = quarter == q
    d = a - q * 90.0  # in [-45, 45]; exact (Sterbenz)
    x = d * _DEG
    x2 = x * x
    s = torch.full_like(x, _SIN[-1])
    for coef in reversed(_SIN[:-1]):
        s = s * x2 + coef
    s = s * x
    c = torch.full_like(x, _COS[-1])
    for coef in reversed(_COS[:-1]):
        c = c * x2 + coef
    k = torch.remainder(q, 4.0)  # quadrant 0..3 (NaN stays NaN)
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    c, s = torch.where(right, one, c), torch.where(right, zero, s)
    cos = torch.where(k == 0, c, torch.where(k == 1, -s, torch.where(k == 2, -c, s)))
    sin = torch.where(k == 0, s, torch.where(k == 1, c, torch.where(k == 2, -s, -c)))
    # NaN angles: k is NaN and every comparison false, so cos = s, sin = -c: NaN both.
    return torch.stack([cos + 0.0, sin + 0.0], 1)  # + 0.0: no negative zeros


def _normalisation(mean, std, channels: int, dtype: torch.dtype):
    if (mean is not None or std is not None) and dtype != torch.float32:
        raise ValueError("mean/std apply to float32 output only")

    def three(value, default: float, name: str) -> list[float]:
        if value is None:
            return [default] * 3
        v = np.atleast_1d(np.asarray(value, dtype=np.float64)).tolist()
        if len(v) not in (1, channels):
            raise ValueError(f"{name} must have 1 or {channels} values, got {len(v)}")
        if len(v) == 1:
            v = v * 3
        if not all(math.isfinite(x) for x in v):
            raise ValueError(f"{name} must be finite")
        return [float(x) for x in v]

    std3 = three(std, 1.0, "std")
    if any(s == 0 for s in std3):
        raise ValueError("std must be non-zero")
    return three(mean, 0.0, "mean"), std3


def _mode(mode) -> int:
    return _MODES[_choice("mode", mode, _MODES)]


def _threshold(threshold) -> int:
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be 'auto' or an int 0..255, got {threshold!r}")
        return -1
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"threshold must be 'auto' or an int 0..255, got {threshold!r}")
    if not 0 <= threshold <= 255:
        raise ValueError(f"threshold must be 0..255, got {threshold}")
    return int(threshold)


def _size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an int, got {size!r}")
    if not 1 <= size <= 4096:
        raise ValueError(f"size must be 1..4096, got {size}")
    return int(size)


def _choice(name: str, value: Any, options: dict) -> Any:
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def _threads(num_threads: int | None) -> int:
    if num_threads is None:
        return 0  # all cores
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    return int(num_threads)
