"""``--bands`` / ``--stretch`` / ``--asinh-q`` / ``--band-scales``: how FITS cutouts become the
8-bit RGB the models take (see galaxyzoo/data/fits.py); ignored for JPEG and PNG inputs."""
from __future__ import annotations

import argparse

from ..data.fits import STRETCHES, parse_bands
from ..errors import UserError


def _scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def add_fits_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("FITS cutouts (pip install \"galaxyzoo[fits]\")")
    group.add_argument("--bands", type=parse_bands, metavar="B1,B2,B3",
                       help="bands from blue to red, by EXTNAME/FILTER/BAND name or 0-based index "
                            "(default: the first three); the last becomes R, the first B")
    group.add_argument("--stretch", choices=STRETCHES, default="asinh",
                       help="asinh (Lupton et al. 2004, colour-preserving; default) or linear")
    group.add_argument("--asinh-q", type=float, default=8.0, metavar="Q", help="asinh softening (default 8)")
    group.add_argument("--band-scales", type=_scales, metavar="S1,S2,S3",
                       help="per-band flux that maps to full scale (default: each band's 99.5th "
                            "percentile above its median sky)")


def fits_kwargs(args: argparse.Namespace) -> dict:
    if args.asinh_q <= 0:
        raise UserError("--asinh-q must be positive")
    return dict(bands=args.bands, stretch=args.stretch, q=args.asinh_q, scales=args.band_scales)


def apply_fits_env(args: argparse.Namespace) -> None:
    """Set the FITS options for this command's process and the worker processes it starts."""
    import os

    from ..data.fits import FitsOptions

    os.environ.update(FitsOptions(**fits_kwargs(args)).to_env())
