"""Synthetic galaxies: SDSS-like 424×424 colour cutouts with GZ2 vote fractions.

Every image is a pure function of ``(seed, split, index)``: a per-image
:class:`numpy.random.SeedSequence` spawns independent streams for the galaxy's structure, its
volunteer votes and the scene (noise, stars), so any subset renders the same bytes in any order,
in any worker. The class of image ``i`` is ``i % 4`` (balanced in every prefix).

A galaxy is a Sérsic bulge plus an exponential disk (thin and inclined, or edge-on with a
sech² vertical profile and an optional reddening dust lane), optionally with logarithmic spiral
arms, put through the Lupton et al. (2004) asinh stretch SDSS colour images use, on a dark
correlated-noise sky with a few stars and faint background galaxies. Seeing is a Moffat or
Gaussian PSF: stars and compact sources take its exact profile; the galaxy is blurred by a
separable Gaussian of the same FWHM (the core, which is what shapes a galaxy; the Moffat wings
only matter around stars). Lengths are given on the 424-pixel reference grid and scaled to the
requested size. All pixel work is vectorised over stamps around each source (a few ms per
424×424 image).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import gz2_tree

CLASSES: tuple[str, ...] = ("smooth_round", "smooth_cigar", "edge_on_disk", "unbarred_spiral")
SPLITS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_SIZES: dict[str, int] = {"train": 2000, "val": 400, "test": 400}
REFERENCE_SIZE = 424
# Bump when the rendering or the votes change: on-disk caches are keyed by it.
GENERATOR_VERSION = 1

_ROUND, _CIGAR, _EDGE_ON, _SPIRAL = range(4)
_FAINTEST = 0.25  # display levels: sources are rendered out to where they fall below this


@dataclass(frozen=True)
class Galaxy:
    """The structure of one galaxy; lengths in pixels of the 424-pixel reference grid."""

    label: int
    x: float
    y: float
    position_angle: float
    peak: float  # display level of the PSF-blurred centre (above 255 saturates the core)
    softening: float  # asinh softening (display levels): linear below, logarithmic above
    bulge_fraction: float
    bulge_n: float
    bulge_re: float
    bulge_q: float
    disk_h: float
    disk_q: float  # apparent axis ratio; for an edge-on disk the scale-height ratio z0/h
    edge_on: bool
    arms: int
    pitch: float  # radians
    arm_fraction: float
    arm_sharpness: float
    arm_phase: float
    dust: float  # optical depth of the dust lane at its centre (0: none)
    dust_offset: float  # in units of the scale height
    bulge_colour: tuple[float, float, float]
    disk_colour: tuple[float, float, float]
    arm_colour: tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """Everything around the galaxy: seeing, sky and the other sources in the field."""

    psf_fwhm: float  # reference pixels
    psf_beta: float  # Moffat beta; 0 means Gaussian
    sky: tuple[float, float, float]  # display levels
    noise: float  # display levels, per channel
    noise_grain: int  # which correlated-noise tile (finer to coarser grain)
    photon_scale: float  # flux at which source photon noise equals the sky noise
    sources: tuple[tuple[float, ...], ...]  # (x, y, peak, width/psf, q, angle, r, g, b)


def split_id(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return SPLITS.index(split)


def label_of(index: int) -> int:
    return index % len(CLASSES)


def _streams(seed: int, split: str, index: int) -> list[np.random.Generator]:
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(split_id(split), index))
    return [np.random.default_rng(child) for child in sequence.spawn(3)]


def _colour(rng: np.random.Generator, red: float, blue: float, jitter: float = 0.06) -> tuple[float, ...]:
    c = np.array([red, 1.0, blue]) * np.exp(rng.normal(0.0, jitter, 3))
    return tuple(float(v) for v in c / c.mean())


def sample_galaxy(rng: np.random.Generator, label: int) -> Galaxy:
    """Draw a galaxy of class ``label`` (an index into :data:`CLASSES`)."""
    if label not in range(len(CLASSES)):
        raise ValueError(f"label must be in 0..{len(CLASSES) - 1}, got {label}")
    offset = rng.normal(0.0, 2.5, 2)
    if rng.random() < 0.15:  # now and then the galaxy sits visibly off-centre
        offset += rng.uniform(-28.0, 28.0, 2)
    peak = rng.uniform(170.0, 300.0)
    p = dict(
        label=label,
        x=REFERENCE_SIZE / 2 + offset[0],
        y=REFERENCE_SIZE / 2 + offset[1],
        position_angle=rng.uniform(0.0, math.pi),
        peak=peak,
        softening=peak / math.asinh(math.exp(rng.uniform(math.log(30.0), math.log(300.0)))),
        edge_on=False, arms=0, pitch=0.0, arm_fraction=0.0, arm_sharpness=1.0, arm_phase=0.0,
        dust=0.0, dust_offset=0.0,
        disk_colour=_colour(rng, 0.95, 1.05),
        arm_colour=_colour(rng, 0.8, 1.3),
    )
    if label in (_ROUND, _CIGAR):  # a pure spheroid
        round_ = label == _ROUND
        p.update(
            bulge_fraction=1.0, disk_h=1.0, disk_q=1.0,
            bulge_n=rng.uniform(2.5, 5.5) if round_ else rng.uniform(1.0, 2.5),
            bulge_re=rng.uniform(16.0, 32.0) if round_ else rng.uniform(12.0, 24.0),
            bulge_q=rng.uniform(0.7, 1.0) if round_ else rng.uniform(0.25, 0.55),
            bulge_colour=_colour(rng, 1.3, 0.7) if round_ else _colour(rng, 1.2, 0.8),
        )
        return Galaxy(**p)
    p.update(
        bulge_n=rng.uniform(1.0, 3.0), bulge_re=rng.uniform(2.0, 5.0), bulge_q=rng.uniform(0.65, 1.0),
        bulge_colour=_colour(rng, 1.25, 0.75),
    )
    if label == _EDGE_ON:
        p.update(edge_on=True, bulge_fraction=rng.uniform(0.0, 0.3), disk_h=rng.uniform(10.0, 18.0),
                 disk_q=rng.uniform(0.1, 0.25))
        if rng.random() < 0.6:
            p.update(dust=rng.uniform(0.5, 1.6), dust_offset=rng.uniform(-0.6, 0.6))
    else:
        p.update(
            bulge_fraction=rng.uniform(0.03, 0.25), disk_h=rng.uniform(11.0, 19.0), disk_q=rng.uniform(0.4, 1.0),
            arms=int(rng.choice([2, 3, 4], p=[0.55, 0.25, 0.2])),
            pitch=math.radians(rng.uniform(12.0, 30.0)),
            arm_fraction=rng.uniform(0.2, 0.65),
            arm_sharpness=rng.uniform(2.0, 5.0),
            arm_phase=rng.uniform(0.0, 2 * math.pi),
        )
    return Galaxy(**p)


def sample_scene(rng: np.random.Generator) -> Scene:
    beta = rng.uniform(2.5, 4.5) if rng.random() < 0.5 else 0.0
    sky = rng.uniform(1.5, 6.0) * np.array([1.0, 0.95, 0.6]) * np.exp(rng.normal(0.0, 0.15, 3))
    sources = []
    for is_star, count in ((True, rng.poisson(3.0)), (False, rng.poisson(1.5))):
        for _ in range(count):
            x, y = rng.uniform(0.0, REFERENCE_SIZE, 2)
            if is_star:
                peak, width, q = math.exp(rng.uniform(math.log(12.0), math.log(400.0))), 1.0, 1.0
                colour = _colour(rng, *((1.3, 0.7) if rng.random() < 0.6 else (0.85, 1.25)), jitter=0.1)
            else:
                peak, width, q = rng.uniform(8.0, 45.0), rng.uniform(1.5, 3.5), rng.uniform(0.35, 1.0)
                colour = _colour(rng, 1.3, 0.75)
            sources.append((x, y, peak, width, q, rng.uniform(0.0, math.pi), *colour))
    return Scene(
        psf_fwhm=rng.uniform(2.5, 5.0),
        psf_beta=beta,
        sky=tuple(float(s) for s in sky),
        noise=rng.uniform(2.5, 5.0),
        noise_grain=int(rng.integers(0, len(_NOISE_GRAINS))),
        photon_scale=rng.uniform(20.0, 80.0),
        sources=tuple(sources),
    )


# ---------------------------------------------------------------- rendering primitives

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
    ratio = max(peak / _FAINTEST, 1.0)
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


_NOISE_GRAINS = (0.6, 1.1, 1.7)  # correlation lengths (reference pixels) of the sky noise


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
    for grain in _NOISE_GRAINS:
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
    bright = np.nonzero(profile[0] * amplitude >= _FAINTEST)[0]
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
        raise ValueError(f"image size must be at least 16 pixels, got {size}")
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


# ---------------------------------------------------------------- votes

def _bump(position: float, k: int, width: float = 0.7) -> np.ndarray:
    """k answer weights peaked at a (fractional) answer index: ordinal questions."""
    w = np.exp(-0.5 * ((np.arange(k) - position) / width) ** 2)
    return w / w.sum()


def _mean_answers(g: Galaxy) -> list[np.ndarray]:
    """Expected within-question answer probabilities for this galaxy, question by question."""
    smooth, featured = {_ROUND: (0.85, 0.13), _CIGAR: (0.75, 0.23), _EDGE_ON: (0.22, 0.76)}.get(
        g.label, (0.12 - 0.1 * g.arm_fraction, 0.87 + 0.1 * g.arm_fraction)
    )
    edge_on = {_ROUND: 0.08, _CIGAR: 0.45, _EDGE_ON: 0.92, _SPIRAL: 0.04}[g.label]
    spiral = 0.45 + 0.6 * g.arm_fraction if g.arms else {_EDGE_ON: 0.25}.get(g.label, 0.15)
    odd = 0.1 + 0.2 * g.dust / 1.6
    odd_feature = np.array([0.08, 0.1, 0.15, 0.12, 0.35, 0.15, 0.05])
    odd_feature[6] += 3 * g.dust / 1.6
    axis_ratio = g.bulge_q if g.bulge_fraction == 1 else (0.1 if g.edge_on else g.disk_q)
    no_bulge = float(np.clip(1 - g.bulge_fraction / 0.15, 0.1, 0.85)) if g.edge_on else 0.5
    arms = np.array([0.05, 0.3, 0.1, 0.05, 0.05, 0.45])
    if g.arms:
        arms = np.array([0.02, 0.05, 0.05, 0.05, 0.05, 0.15])
        arms[g.arms - 1] += 0.5
        arms[g.arms - 2] += 0.05
        arms[g.arms] += 0.05
    return [
        np.array([smooth, featured, 1 - smooth - featured]),
        np.array([edge_on, 1 - edge_on]),
        np.array([0.1, 0.9]),
        np.array([spiral, 1 - spiral]),
        _bump(3 * min(g.bulge_fraction / 0.45, 1.0), 4),
        np.array([odd, 1 - odd]),
        _bump(float(np.clip((1 - axis_ratio) / 0.7 * 2, 0, 2)), 3),
        odd_feature / odd_feature.sum(),
        np.array([0.8 * (1 - no_bulge), 0.2 * (1 - no_bulge), no_bulge]),
        _bump((math.degrees(g.pitch) - 12) / 9, 3) if g.arms else np.array([0.3, 0.4, 0.3]),
        arms / arms.sum(),
    ]


def sample_votes(rng: np.random.Generator, g: Galaxy) -> np.ndarray:
    """37 tree-weighted vote fractions from simulated volunteers.

    Each question's answer probabilities are drawn from a Dirichlet around the galaxy's
    expected answers; volunteers then walk the tree (a multinomial per question over those who
    reached it), so every question's fractions sum to its parent's exactly.
    """
    concentration = rng.uniform(8.0, 25.0)
    voters = int(rng.integers(25, 61))
    counts = np.zeros(gz2_tree.NUM_COLUMNS, dtype=np.int64)
    for s, parent, mean in zip(gz2_tree.QUESTION_SLICES, gz2_tree.PARENTS, _mean_answers(g)):
        p = rng.dirichlet(concentration * mean + 0.05)
        counts[s] = rng.multinomial(voters if parent is None else counts[parent], p)
    return (counts / voters).astype(np.float32)


# ---------------------------------------------------------------- per-index entry points

def galaxy(seed: int, split: str, index: int) -> Galaxy:
    return sample_galaxy(_streams(seed, split, index)[0], label_of(index))


def vote_fractions(seed: int, split: str, index: int) -> np.ndarray:
    structure, votes, _ = _streams(seed, split, index)
    return sample_votes(votes, sample_galaxy(structure, label_of(index)))


def image(seed: int, split: str, index: int, size: int = REFERENCE_SIZE, out: np.ndarray | None = None) -> np.ndarray:
    """The uint8 size×size×3 image of sample ``index``: same bytes on every call."""
    structure, _, scene = _streams(seed, split, index)
    return render(sample_galaxy(structure, label_of(index)), sample_scene(scene), scene, size, out)


def images(seed: int, split: str, indices, size: int = REFERENCE_SIZE) -> np.ndarray:
    """uint8 N×size×size×3 for the given indices."""
    out = np.empty((len(indices), size, size, 3), dtype=np.uint8)
    for i, index in enumerate(indices):
        image(seed, split, int(index), size, out[i])
    return out


def save_preview(path, per_class: int = 4, seed: int = 0, split: str = "train", size: int = REFERENCE_SIZE) -> None:
    """A PNG grid with one row per class (the first ``per_class`` samples of each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(CLASSES), per_class, figsize=(2 * per_class, 2 * len(CLASSES)), squeeze=False)
    for label, row in enumerate(axes):
        for k, ax in enumerate(row):
            ax.imshow(image(seed, split, label + k * len(CLASSES), size))
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(CLASSES[label])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
