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

import numpy as np

from ..errors import UserError
from ..gz2 import tree as gz2_tree
from .synthetic_render import NOISE_GRAINS, REFERENCE_SIZE, render

__all__ = [
    "CLASSES",
    "DEFAULT_SIZES",
    "GENERATOR_VERSION",
    "REFERENCE_SIZE",
    "SPLITS",
    "galaxy",
    "image",
    "images",
    "label_of",
    "split_id",
    "vote_fractions",
]

CLASSES: tuple[str, ...] = ("smooth_round", "smooth_cigar", "edge_on_disk", "unbarred_spiral")
SPLITS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_SIZES: dict[str, int] = {"train": 2000, "val": 400, "test": 400}
# Bump when the rendering or the votes change: on-disk caches are keyed by it.
GENERATOR_VERSION = 1

_ROUND, _CIGAR, _EDGE_ON, _SPIRAL = range(4)


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
        raise UserError(f"unknown split {split!r}; expected one of {SPLITS}")
    return SPLITS.index(split)


def label_of(index: int) -> int:
    return index % len(CLASSES)


def _streams(seed: int, split: str, index: int) -> list[np.random.Generator]:
    if seed < 0 or index < 0:
        raise UserError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(split_id(split), index))
    return [np.random.default_rng(child) for child in sequence.spawn(3)]


def _colour(rng: np.random.Generator, red: float, blue: float, jitter: float = 0.06) -> tuple[float, ...]:
    c = np.array([red, 1.0, blue]) * np.exp(rng.normal(0.0, jitter, 3))
    return tuple(float(v) for v in c / c.mean())


def sample_galaxy(rng: np.random.Generator, label: int) -> Galaxy:
    """Draw a galaxy of class ``label`` (an index into :data:`CLASSES`)."""
    if label not in range(len(CLASSES)):
        raise UserError(f"label must be in 0..{len(CLASSES) - 1}, got {label}")
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
        noise_grain=int(rng.integers(0, len(NOISE_GRAINS))),
        photon_scale=rng.uniform(20.0, 80.0),
        sources=tuple(sources),
    )


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
