"""FITS cutouts → the uint8 H×W×3 RGB the models use, plus the cutout centre's RA/Dec.

Needs astropy (``pip install "galaxyzoo[fits]"``), imported only when a FITS file is read.

Which pixels: a cube in the first image HDU (bands × H × W) gives one band per plane;
otherwise every 2-D image HDU (primary, ``IMAGE`` extensions, tile-compressed ``.fz``
extensions) is one band. ``bands`` picks them by index (0-based, in that order) or by name
(an extension's ``EXTNAME``, ``FILTER`` or ``BAND`` keyword; for a cube, ``BAND1``… /
``FILTER1``… keywords of its header). Default: all bands when there are at most three, else
the first three. Bands are listed from blue to red: the last becomes R, the first B (one band:
grey; two: R = second, B = first, G = their mean). ``.fits.gz`` (gzip) is read in memory,
with the decompressed size capped (a gzip bomb is ``too_large``).

The stretch (:func:`stretch_rgb`): NaN and ±inf pixels (a cutout's edge off the survey
footprint) are set to the band's sky, the median of its finite pixels. Each band is
sky-subtracted and divided by its scale: ``scales[k]`` when given (per-band, in the file's
units), else the band's 99.5th percentile above the sky. ``stretch="asinh"`` (Lupton et al.
2004, PASP 116, 133) maps the mean intensity I of the three channels through
asinh(Q·I)/asinh(Q) and multiplies every channel by that over I, so colours are kept while
faint outskirts and a bright core both show; a pixel whose brightest channel would pass 1 is
scaled down as a whole (no hue shift). ``stretch="linear"`` clips each scaled band to [0, 1].
Then × 255, rounded.

WCS: when the header holds a celestial WCS, (ra, dec) in degrees of the cutout's central pixel
((nx − 1)/2, (ny − 1)/2, 0-based), else NaN.

Options for every FITS file a job reads (ingest, predict, evaluate, the catalog dataset) come
from :class:`FitsOptions`; jobs started in other processes read them from the environment
variables ``GALAXYZOO_FITS_BANDS`` (comma-separated names or indices),
``GALAXYZOO_FITS_STRETCH`` (asinh or linear), ``GALAXYZOO_FITS_Q`` and ``GALAXYZOO_FITS_SCALES``.
"""
from __future__ import annotations

import io
import math
import os
import warnings
import zlib
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..errors import DecodeError, UserError
from .fits_plain import PlainHeader, read_plain

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fts.gz")
_LONGEST_FIRST = sorted(FITS_SUFFIXES, key=len, reverse=True)
STRETCHES = ("asinh", "linear")
INSTALL_HINT = 'FITS files need astropy: pip install "galaxyzoo[fits]"'
_FITS_MAGIC = b"SIMPLE  ="
_GZIP_MAGIC = b"\x1f\x8b"
MAX_PIXELS = 1 << 26
MAX_FILE_BYTES = 1 << 28  # as decode.MAX_FILE_BYTES
MAX_DECOMPRESSED_BYTES = 1 << 30

Band = Union[int, str]


@dataclass(frozen=True)
class FitsOptions:
    bands: tuple[Band, ...] | None = None
    stretch: str = "asinh"
    q: float = 8.0
    scales: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.stretch not in STRETCHES:
            raise UserError(f"unknown FITS stretch {self.stretch!r}; choose one of {', '.join(STRETCHES)}")
        if not (self.q > 0 and math.isfinite(self.q)):
            raise UserError(f"the asinh softening Q must be a positive number, got {self.q}")
        if self.scales is not None and not all(s > 0 and math.isfinite(s) for s in self.scales):
            raise UserError(f"FITS band scales must be positive numbers, got {self.scales}")

    @classmethod
    def from_env(cls) -> "FitsOptions":
        env = os.environ
        bands = env.get("GALAXYZOO_FITS_BANDS")
        scales = env.get("GALAXYZOO_FITS_SCALES")
        try:
            return cls(bands=parse_bands(bands) if bands else None,
                       stretch=env.get("GALAXYZOO_FITS_STRETCH", "asinh"),
                       q=float(env.get("GALAXYZOO_FITS_Q", "8")),
                       scales=tuple(float(s) for s in scales.split(",")) if scales else None)
        except ValueError as err:
            raise UserError(f"bad GALAXYZOO_FITS_* setting: {err}") from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that give these options to jobs in other processes."""
        env = {"GALAXYZOO_FITS_STRETCH": self.stretch, "GALAXYZOO_FITS_Q": repr(self.q)}
        if self.bands is not None:
            env["GALAXYZOO_FITS_BANDS"] = ",".join(str(b) for b in self.bands)
        if self.scales is not None:
            env["GALAXYZOO_FITS_SCALES"] = ",".join(repr(float(s)) for s in self.scales)
        return env


def parse_bands(text: str | Sequence[Band]) -> tuple[Band, ...]:
    """``"g,r,i"`` or ``"0,2"`` (or a sequence) → a bands tuple; digits are indices."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(int(b) if isinstance(b, int) or str(b).strip().isdigit() else str(b).strip() for b in items)
    if not out or any(b == "" for b in out):
        raise UserError(f"bad band list {text!r}: give names or indices separated by commas")
    return out


def is_fits_name(name: str | os.PathLike) -> bool:
    return os.fspath(name).lower().endswith(FITS_SUFFIXES)


def fits_stem(name: str | os.PathLike) -> str:
    """The file name without its FITS suffix (``a.fits.gz`` → ``a``)."""
    base = os.path.basename(os.fspath(name))
    lower = base.lower()
    if lower.endswith(FITS_SUFFIXES):  # called per walked file: the common case is one test
        return base[: -len(next(s for s in _LONGEST_FIRST if lower.endswith(s)))]
    return os.path.splitext(base)[0]


def is_fits(data: bytes) -> bool:
    """True for FITS bytes, plain or gzip-compressed (decided by content, not name)."""
    if data[:9] == _FITS_MAGIC:
        return True
    if data[:2] == _GZIP_MAGIC:
        try:
            return zlib.decompressobj(31).decompress(data[:4096], 16)[:9] == _FITS_MAGIC
        except zlib.error:
            return False
    return False


def _astropy():
    try:
        from astropy.io import fits
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return fits


def _gunzip(data: bytes) -> bytes:
    d = zlib.decompressobj(31)
    try:
        out = d.decompress(data, MAX_DECOMPRESSED_BYTES)
    except zlib.error as err:
        raise DecodeError("corrupt", f"corrupt gzip data ({err})") from None
    if d.unconsumed_tail:
        raise DecodeError("too_large", f"gzip data decompresses to over {MAX_DECOMPRESSED_BYTES} bytes")
    if not d.eof:
        raise DecodeError("truncated", "gzip data ends before the FITS file does")
    return out


def _read_file(name: str) -> bytes:
    """A file's bytes or the DecodeError decode.read_bytes would give (not imported from
    there: decode imports this module)."""
    try:
        with open(name, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
                raise DecodeError("too_large", f"{name}: file is over the {MAX_FILE_BYTES}-byte limit")
            return f.read()
    except FileNotFoundError:
        raise DecodeError("missing", f"{name}: no such file") from None
    except OSError as err:
        raise DecodeError("unreadable", f"{name}: cannot read ({err.strerror or err})") from None


@dataclass
class _Planes:
    planes: list[np.ndarray]  # float arrays, H×W each
    names: list[str]
    header: object  # the astropy Header carrying the WCS


def _band_name(header, k: int | None = None) -> str:
    keys = ("EXTNAME", "FILTER", "BAND") if k is None else (f"BAND{k + 1}", f"FILTER{k + 1}")
    return next((str(header[key]).strip() for key in keys if key in header), "")


def _open(data: bytes, max_pixels: int) -> tuple[list, object]:
    fits = _astropy()
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data)
    if len(data) % 2880:
        raise DecodeError("truncated", f"FITS data ends mid-block ({len(data)} bytes, not a multiple of 2880)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.HDUList.fromstring(data)
            images = []
            for hdu in hdul:
                if not getattr(hdu, "is_image", False) or not hdu.header.get("NAXIS", 0):
                    continue
                shape = tuple(hdu.shape)
                if math.prod(shape) > max_pixels * 8:
                    raise DecodeError("too_large", f"FITS image of shape {shape} is over the pixel limit")
                if len(shape) in (2, 3):
                    images.append(hdu)
    except DecodeError:
        raise
    except Exception as err:  # astropy raises OSError, ValueError, TypeError, VerifyError...
        raise DecodeError("corrupt", f"unreadable FITS data (astropy: {err})") from None
    if not images:
        raise DecodeError("unsupported", "FITS file has no 2-D image or 3-D cube (a table only?)")
    return images, hdul


def _load_planes(data: bytes, bands: Sequence[Band] | None, max_pixels: int) -> _Planes:
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data)
    plain = read_plain(data, max_pixels * 8) if len(data) % 2880 == 0 else None
    if plain:  # uncompressed images: read without astropy's per-HDU overhead
        first_header, first = plain[0]
        if first.ndim == 3:
            names = [_band_name(first_header, k) for k in range(len(first))]
            return _picked(list(first), names, first_header, bands, max_pixels)
        images = [(h, p) for h, p in plain if p.ndim == 2]
        if images:
            header = next((h for h, _ in images if "CTYPE1" in h), images[0][0])
            return _picked([p for _, p in images], [_band_name(h) for h, _ in images], header, bands, max_pixels)
    images, _ = _open(data, max_pixels)
    first = images[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(first.shape) == 3:
                cube = np.asarray(first.data, np.float32)
                planes = list(cube)
                names = [_band_name(first.header, k) for k in range(len(planes))]
                header = first.header
            else:
                images = [h for h in images if len(h.shape) == 2]
                planes = [np.asarray(h.data, np.float32) for h in images]
                names = [_band_name(h.header) for h in images]
                header = next((h.header for h in images if "CTYPE1" in h.header), images[0].header)
    except Exception as err:
        reason = "truncated" if "truncat" in str(err).lower() else "corrupt"
        raise DecodeError(reason, f"cannot read FITS pixels (astropy: {err})") from None
    return _picked(planes, names, header, bands, max_pixels)


def _picked(planes: list, names: list[str], header, bands: Sequence[Band] | None, max_pixels: int) -> _Planes:
    if len({p.shape for p in planes}) > 1:
        raise DecodeError("unsupported", f"FITS bands differ in shape: {[p.shape for p in planes]}")
    if math.prod(planes[0].shape) > max_pixels:
        raise DecodeError("too_large", f"FITS image of shape {planes[0].shape} is over the {max_pixels}-pixel limit")
    picks = list(range(min(3, len(planes)))) if bands is None else [_pick(b, names) for b in bands]
    return _Planes([planes[i] for i in picks], [names[i] for i in picks], header)


def _pick(band: Band, names: list[str]) -> int:
    if isinstance(band, int):
        if not 0 <= band < len(names):
            raise DecodeError("unsupported", f"no band {band}: the file has {len(names)} (0-based)")
        return band
    lowered = [n.lower() for n in names]
    if band.lower() not in lowered:
        raise DecodeError("unsupported", f"no band named {band!r}; bands: {names}")
    return lowered.index(band.lower())


def _normalised(plane: np.ndarray, k: int, scale: float | None) -> np.ndarray:
    """(plane − sky) / scale, float32, non-finite pixels at the sky. Statistics on a grid of
    about 128×128 pixels (every pixel of a small cutout): percentiles of a 424-px band cost
    more than the rest of the stretch."""
    plane = np.asarray(plane, np.float32)
    stride = max(1, min(plane.shape) // 128)
    sample = plane[::stride, ::stride].ravel()
    finite_sample = np.isfinite(sample)
    if not finite_sample.all():
        sample = sample[finite_sample]
        if not sample.size:
            sample = plane[np.isfinite(plane)]
    if not sample.size:
        raise DecodeError("corrupt", f"band {k} has no finite pixel")
    sky, high = (float(v) for v in np.quantile(sample, (0.5, 0.995)))
    if scale is None:
        scale = high - sky if high > sky else (float(sample.max()) - sky) or 1.0
    out = plane - np.float32(sky)
    out *= np.float32(1.0 / scale)
    if not finite_sample.all() or not np.isfinite(out).all():
        out[~np.isfinite(out)] = 0.0  # NaN/inf: the sky
    return out


def stretch_rgb(planes: Sequence[np.ndarray], stretch: str = "asinh", *, q: float = 8.0,
                scales: Sequence[float] | None = None) -> np.ndarray:
    """Bands (blue → red, float H×W each, NaN/inf allowed) → uint8 H×W×3 (see the module doc)."""
    if stretch not in STRETCHES:
        raise UserError(f"unknown FITS stretch {stretch!r}; choose one of {', '.join(STRETCHES)}")
    if scales is not None and len(scales) != len(planes):
        raise DecodeError("unsupported", f"{len(scales)} band scales given for {len(planes)} bands")
    scaled = [_normalised(p, k, None if scales is None else float(scales[k])) for k, p in enumerate(planes)]
    if len(scaled) == 1:
        channels = [scaled[0], scaled[0].copy(), scaled[0].copy()]
    elif len(scaled) == 2:
        channels = [scaled[1], (scaled[0] + scaled[1]) * np.float32(0.5), scaled[0]]
    else:
        channels = scaled[2::-1]  # R, G, B = third, second, first band
    if stretch == "linear":
        for c in channels:
            np.clip(c, 0, 1, out=c)
    else:  # asinh, Lupton et al. 2004: one gain per pixel from the mean intensity
        for c in channels:
            np.maximum(c, 0, out=c)
        intensity = (channels[0] + channels[1] + channels[2]) * np.float32(1 / 3)
        gain = np.arcsinh(intensity * np.float32(q))
        gain /= np.maximum(intensity, np.float32(1e-12)) * np.float32(math.asinh(q))
        peak = np.maximum(np.maximum(channels[0], channels[1]), channels[2])
        peak *= gain
        np.maximum(peak, 1, out=peak)  # a pixel over full scale is dimmed as a whole (same hue)
        gain /= peak
        for c in channels:
            c *= gain
    rgb = np.empty(channels[0].shape + (3,), np.uint8)
    for j, c in enumerate(channels):
        c *= 255
        np.rint(c, out=c)
        rgb[..., j] = c
    return rgb


def centre_radec(header, shape: tuple[int, int]) -> tuple[float, float]:
    """(ra, dec) in degrees of the central pixel, or NaNs without a celestial WCS."""
    if "CTYPE1" not in header:
        return math.nan, math.nan
    try:
        from astropy.wcs import WCS

        if isinstance(header, PlainHeader):
            header = _astropy().Header.fromstring(header.raw)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header, naxis=2).celestial
            if not wcs.has_celestial:
                return math.nan, math.nan
            ra, dec = wcs.all_pix2world([[(shape[1] - 1) / 2, (shape[0] - 1) / 2]], 0)[0]
    except Exception:  # a malformed WCS leaves the pixels usable
        return math.nan, math.nan
    return float(ra), float(dec)


@dataclass
class FitsImage:
    rgb: np.ndarray  # uint8 H×W×3
    ra: float
    dec: float
    bands: list[str]


def read_fits(source: str | os.PathLike | bytes, bands: Sequence[Band] | str | None = None,
              stretch: str = "asinh", *, q: float = 8.0, scales: Sequence[float] | None = None,
              max_pixels: int = MAX_PIXELS) -> FitsImage:
    """One FITS cutout (a path or the file's bytes) → :class:`FitsImage` (RGB + centre RA/Dec).
    Every failure of the file is a :class:`DecodeError` with a reason."""
    FitsOptions(stretch=stretch, q=q, scales=tuple(scales) if scales is not None else None)
    if not isinstance(source, (bytes, bytearray, memoryview)):
        name = os.fspath(source)
        data = _read_file(name)
        try:
            return read_fits(data, bands, stretch, q=q, scales=scales, max_pixels=max_pixels)
        except DecodeError as err:
            raise DecodeError(err.reason, f"{name}: {err}") from None
    data = bytes(source)
    if not data:
        raise DecodeError("empty", "zero-byte file")
    if not is_fits(data):
        raise DecodeError("not_an_image", f"not a FITS file (starts with {data[:8]!r})")
    picked = _load_planes(data, parse_bands(bands) if bands is not None else None, max_pixels)
    rgb = stretch_rgb(picked.planes, stretch, q=q, scales=scales)
    ra, dec = centre_radec(picked.header, rgb.shape[:2])
    return FitsImage(rgb, ra, dec, picked.names)


def decode_fits(data: bytes, *, max_pixels: int = MAX_PIXELS, options: FitsOptions | None = None) -> np.ndarray:
    """FITS bytes → uint8 H×W×3 with the job's options (default: from the environment)."""
    o = options or FitsOptions.from_env()
    return read_fits(data, o.bands, o.stretch, q=o.q, scales=o.scales, max_pixels=max_pixels).rgb


def fits_shape(data: bytes, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(height, width) of a FITS cutout's image planes."""
    images, _ = _open(data, max_pixels)
    return tuple(images[0].shape[-2:])


def fits_radec(source: str | os.PathLike | bytes) -> tuple[float, float]:
    """(ra, dec) of a FITS cutout's centre (a path or the file's bytes) from its header alone;
    NaNs when it has no WCS or cannot be read (its row then carries the decode error)."""
    try:
        data = source if isinstance(source, bytes) else _read_file(os.fspath(source))
        if not is_fits(data):
            return math.nan, math.nan
        images, _ = _open(data, MAX_PIXELS)
    except DecodeError:
        return math.nan, math.nan
    header = next((h.header for h in images if "CTYPE1" in h.header), images[0].header)
    return centre_radec(header, tuple(images[0].shape[-2:]))
