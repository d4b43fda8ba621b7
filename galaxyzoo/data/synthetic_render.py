"""Rendering the synthetic galaxies of :mod:`galaxyzoo.data.synthetic`: Sérsic and exponential
light profiles, spiral arms, dust, PSF blur, the asinh stretch, correlated sky noise and the
stars and background sources of a scene, vectorised over stamps around each source."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserError

if TYPE_CHECKING:
    from .synthetic import Galaxy, Scene

REFERENCE_SIZE = 424  # lengths are given on this grid and scaled to the requested size
FAINTEST = 0.25  # display levels: sources are rendered out to where they fall below this


def _sersic_b(n: float) -> float:
    return 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n * n)


def _sersic_flux(n: float, re: float, q: float) -> float:
    """Total flux of exp(-b (r/re)^(1/n)), to set component fractions."""
    b = _sersic_b(n)
    return 2 * math.pi * q * re * re * n * math.gamma(2 * n) / b ** (2 * n)


def _gaussian_sigma(fwhm: float) -> float:
    return fwhm / (2 * math.sqrt(2 * math.log(2)))


def _psf(r2: np.ndarray, fwhm: float, beta: float) -> np.ndarray:
    """PSF profile (peak 1) at squared radius ``r2``: Moffat for beta > 0, else Gaussian."""
    if beta > 0:
        alpha2 = (fwhm / (2 * math.sqrt(2 ** (1 / beta) - 1))) ** 2
        return (1 + r2 / alpha2) ** -beta
    return np.exp(r2 / (-2 * _gaussian_sigma(fwhm) ** 2))


def _psf_radius(fwhm: float, beta: float, peak: float) -> float:
    """Radius where a PSF-shaped source of this peak falls below the faintest display level."""
    ratio = max(peak / FAINTEST, 1.0)
    if beta > 0:
        alpha = fwhm / (2 * math.sqrt(2 ** (1 / beta) - 1))
        return alpha * math.sqrt(ratio ** (1 / beta) - 1)
    return _gaussian_sigma(fwhm) * math.sqrt(2 * math.log(ratio))


def _mean_of_arm_profile(k: float) -> float:
    """Mean over phase of ((1 + cos psi) / 2) ** k, so arms carry their intended flux."""
    return math.gamma(k + 0.5) / (math.sqrt(math.pi) * math.gamma(k + 1))


def _light(g: Galaxy, dx: np.ndarray, dy: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Unblurred light at offsets (dx, dy) from the centre, in output pixels.

    Returns the intensity (mean over channels) and the colour (3, …) or (3, 1, 1) that
    multiplies it. Keeping colour apart lets the PSF blur and the stretch run on one plane
    instead of three; the colour is left unblurred, a shift only at the PSF's scale.
    """
    cos, sin = math.cos(g.position_angle), math.sin(g.position_angle)
    u = dx * cos + dy * sin  # along the major axis
    v = dy * cos - dx * sin
    parts = []  # (intensity, colour with mean 1)
    if g.bulge_fraction > 0:
        n, re, q = g.bulge_n, g.bulge_re * scale, g.bulge_q
        r2 = u * u + (v / q) ** 2 + 0.25  # the 0.5-px softening tames the cusp
        # exp(-b (r/re)^(1/n)) with the power written as exp(log) of r² (one sqrt fewer).
        bulge = np.exp(-_sersic_b(n) * np.exp(np.log(r2 * (1 / (re * re))) * (0.5 / n)))
        parts.append((bulge * (g.bulge_fraction / _sersic_flux(n, re, q)), g.bulge_colour))
    if g.bulge_fraction < 1:
        h = g.disk_h * scale
        disk_flux = 1 - g.bulge_fraction
        if g.edge_on:
            z0 = g.disk_q * h
            e = np.exp(np.abs(v) * (-2 / z0))
            sech2 = 4 * e / (1 + e) ** 2
            # A projected exponential disk has a flat core, not a cusp.
            disk = np.exp(np.sqrt(u * u + (0.3 * h) ** 2) * (-1 / h)) * sech2 * (disk_flux / (4 * h * z0))
        else:
            radius = np.sqrt(u * u + (v / g.disk_q) ** 2)
            profile = np.exp(radius * (-1 / h)) * (disk_flux / (2 * math.pi * g.disk_q * h * h))
            disk = profile * (1 - g.arm_fraction)
        parts.append((disk, g.disk_colour))
        if g.arms:
            theta = np.arctan2(v / g.disk_q, u)
            psi = g.arms * (theta - np.log(radius * (1 / h) + 1e-3) / math.tan(g.pitch)) + g.arm_phase
            pattern = ((1 + np.cos(psi)) * 0.5) ** g.arm_sharpness
            inner = 1 - np.exp((radius * (1 / (0.7 * h))) ** 2 * -1)  # arms start outside the bulge
            weight = g.arm_fraction / _mean_of_arm_profile(g.arm_sharpness)
            parts.append((profile * pattern * inner * weight, g.arm_colour))
    if len(parts) == 1 and not g.dust:
        return parts[0][0].astype(np.float32, copy=False), _colours(parts[0][1])
    flux = sum(_colours(colour) * part for part, colour in parts)
    if g.dust:
        z0 = g.disk_q * g.disk_h * scale
        lane = np.exp(-0.5 * ((v - g.dust_offset * z0) / (0.6 * z0)) ** 2 - np.abs(u) / (2.5 * g.disk_h * scale))
        flux = flux * np.exp(_colours((1.3, 1.0, 0.75)) * (-g.dust * lane))  # reddens as it dims
    intensity = (flux[0] + flux[1] + flux[2]) * (1 / 3)
    colour = flux / np.maximum(intensity, 1e-30)
    return intensity.astype(np.float32, copy=False), colour.astype(np.float32, copy=False)


def _colours(rgb: tuple[float, ...]) -> np.ndarray:
    return np.array(rgb, dtype=np.float32).reshape(3, 1, 1)


def _stretch(intensity: np.ndarray, softening: float) -> np.ndarray:
    """Lupton et al. asinh stretch: linear below the softening, logarithmic above.

    Applied to the intensity with one factor for all channels, so colours are kept.
    """
    return np.arcsinh(intensity * (1 / softening)) * softening


def _gaussian_taps(sigma: float) -> np.ndarray:
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float32) / max(sigma, 1e-3)) ** 2)
    return taps / taps.sum()


def _blur_valid(a: np.ndarray, taps: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Separable 'valid' convolution over the last two axes (each shrinks by len(taps) - 1).

    ``gain`` multiplies the result for free (folded into the taps).
    """
    taps = taps * np.float32(math.sqrt(gain))
    n = a.shape[-2] - len(taps) + 1
    rows = a[..., :n, :] * taps[0]
    for k in range(1, len(taps)):
        rows += a[..., k : k + n, :] * taps[k]
    n = a.shape[-1] - len(taps) + 1
    out = rows[..., :n] * taps[0]
    for k in range(1, len(taps)):
        out += rows[..., k : k + n] * taps[k]
    return out


NOISE_GRAINS = (0.6, 1.1, 1.7)  # correlation lengths (reference pixels) of the sky noise


@lru_cache(maxsize=4)
def _noise_tiles(size: int) -> tuple[np.ndarray, ...]:
    """Unit-variance correlated noise fields (3, 2·size, 2·size), periodic, one per grain.

    Shared by all images, each of which reads one at its own random offset: drawing fresh
    noise for every pixel would cost more than rendering the galaxy. The grain mimics SDSS
    resampling and JPEG blocking. Built once per process and size (a fixed seed: the same
    everywhere).
    """
    side = 2 * size
    white = np.fft.rfft2(np.random.default_rng(20240424).standard_normal((3, side, side), dtype=np.float32))
    f2 = np.fft.fftfreq(side)[:, None] ** 2 + np.fft.rfftfreq(side)[None, :] ** 2
    tiles = []
    for grain in NOISE_GRAINS:
        sigma = grain * size / REFERENCE_SIZE
        smooth = np.fft.irfft2(white * np.exp(-2 * (math.pi * sigma) ** 2 * f2), s=(side, side))
        smooth = (smooth / smooth.std(axis=(1, 2), keepdims=True)).astype(np.float32)
        smooth.setflags(write=False)
        tiles.append(smooth)
    return tuple(tiles)


def _render_galaxy(canvas: np.ndarray, noise: np.ndarray, g: Galaxy, scene: Scene, scale: float) -> None:
    taps = _gaussian_taps(_gaussian_sigma(scene.psf_fwhm * scale))
    pad = len(taps) // 2
    size = canvas.shape[1]
    cx, cy = g.x * scale, g.y * scale

    # Scale the light so the blurred centre reaches the galaxy's peak display level.
    offsets = np.arange(-pad, pad + 1, dtype=np.float32)
    core = _light(g, offsets[None, :], offsets[:, None], scale)[0]
    amplitude = g.softening * math.sinh(g.peak / g.softening) / float((core * np.outer(taps, taps)).sum())

    # Render out to where the major-axis profile drops below the faintest level, within the image.
    radii = np.arange(0, 2 * size, dtype=np.float32)[None, :]
    profile = _light(g, radii * math.cos(g.position_angle), radii * math.sin(g.position_angle), scale)[0]
    bright = np.nonzero(profile[0] * amplitude >= FAINTEST)[0]
    half = int(bright[-1] if len(bright) else 0) + pad + 1
    x0, x1 = max(int(cx) - half, 0), min(int(cx) + half + 1, size)
    y0, y1 = max(int(cy) - half, 0), min(int(cy) + half + 1, size)
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0 - pad, x1 + pad, dtype=np.float32) - cx
    ys = np.arange(y0 - pad, y1 + pad, dtype=np.float32) - cy
    intensity, colour = _light(g, xs[None, :], ys[:, None], scale)
    intensity = _blur_valid(intensity, taps, gain=amplitude)
    if colour.shape[1] > 1:
        colour = colour[:, pad:-pad, pad:-pad]
    window = canvas[:, y0:y1, x0:x1]
    window += _stretch(intensity, g.softening) * colour
    # Photon noise grows with the source while the stretch compresses it: rescale the sky noise.
    gain = np.sqrt((1 + intensity * (1 / scene.photon_scale)) / (1 + (intensity * (1 / g.softening)) ** 2)) - 1
    window += noise[:, y0:y1, x0:x1] * (gain * scene.noise)


def _render_sources(canvas: np.ndarray, scene: Scene, softening: float, scale: float) -> None:
    """Stars (PSF-shaped, Moffat or Gaussian) and faint elliptical background galaxies."""
    fwhm = scene.psf_fwhm * scale
    size = canvas.shape[1]
    for x, y, peak, width, q, angle, *colour in scene.sources:
        x, y = x * scale, y * scale
        peak_flux = softening * math.sinh(peak / softening)
        radius = math.ceil(_psf_radius(fwhm * width, scene.psf_beta, peak_flux)) + 1
        x0, x1 = max(int(x) - radius, 0), min(int(x) + radius + 1, size)
        y0, y1 = max(int(y) - radius, 0), min(int(y) + radius + 1, size)
        if x0 >= x1 or y0 >= y1:
            continue
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - x
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - y
        u = dx * math.cos(angle) + dy * math.sin(angle)
        v = (dy * math.cos(angle) - dx * math.sin(angle)) / q
        shape = _psf(u * u + v * v, fwhm * width, scene.psf_beta)
        canvas[:, y0:y1, x0:x1] += _stretch(shape * peak_flux, softening) * _colours(colour)


def render(
    galaxy: Galaxy, scene: Scene, rng: np.random.Generator, size: int = REFERENCE_SIZE, out: np.ndarray | None = None
) -> np.ndarray:
    """Render one galaxy in its scene as uint8 size×size×3 (into ``out`` when given)."""
    if size < 16:
        raise UserError(f"image size must be at least 16 pixels, got {size}")
    if out is None:
        out = np.empty((size, size, 3), dtype=np.uint8)
    if out.shape != (size, size, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous uint8 array of shape {(size, size, 3)}")
    scale = size / REFERENCE_SIZE
    oy, ox = rng.integers(0, size + 1, 2)
    noise = _noise_tiles(size)[scene.noise_grain][:, oy : oy + size, ox : ox + size]
    # +0.5 so the final truncation to uint8 rounds.
    canvas = noise * np.float32(scene.noise)
    canvas += _colours(scene.sky) + np.float32(0.5)
    _render_galaxy(canvas, noise, galaxy, scene, scale)
    _render_sources(canvas, scene, galaxy.softening, scale)
    np.clip(canvas, 0, 255, out=canvas)
    pixels = out.reshape(-1, 3)
    for c in range(3):  # a flat strided write per channel is the fastest interleave in NumPy
        pixels[:, c] = canvas[c].ravel()
    return out
