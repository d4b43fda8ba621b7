"""Ingest throughput for FITS cutouts against the JPEG path, measured in the same run.

    python benchmarks/bench_fits.py [N_IMAGES]

The same N synthetic 424×424 galaxies are written three ways: JPEG (quality 90), FITS with
g, r, i float32 extensions (the RGB planes as flux) and the same FITS gzip-compressed
(.fits.gz). Bytes are read into memory first (disk speed is not measured), then
:func:`galaxyzoo.workflows.ingest.crop_blobs` (decode, ROI, 64×64 crops) runs over each set
on one core, best of 3; then ``galaxyzoo ingest`` (the whole job: files, workers=0 so one
process, shards and manifest) over the folders. Needs astropy.
"""
from __future__ import annotations

import gzip
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import simplejpeg
from astropy.io import fits

from galaxyzoo.data import synthetic
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import IngestOptions, crop_blobs, ingest

OPTS = IngestOptions(size=64)
CHUNK = 128


def fits_bytes(rgb: np.ndarray) -> bytes:
    hdus = [fits.PrimaryHDU()]
    for band, channel in (("g", 2), ("r", 1), ("i", 0)):
        hdus.append(fits.ImageHDU(rgb[:, :, channel].astype(np.float32), name=band))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


def rate(blobs: list[bytes]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(0, len(blobs), CHUNK):
            crops = crop_blobs(blobs[i:i + CHUNK], OPTS)
            assert not any(crops.errors)
        best = min(best, time.perf_counter() - start)
    return len(blobs) / best


def main(n: int = 256) -> None:
    images = synthetic.images(0, "test", range(n))
    sets = {
        "jpeg": [simplejpeg.encode_jpeg(np.ascontiguousarray(im), quality=90) for im in images],
        "fits": [fits_bytes(im) for im in images],
    }
    sets["fits.gz"] = [gzip.compress(b, compresslevel=6) for b in sets["fits"]]
    print(f"{n} synthetic 424×424 galaxies → 64×64 crops, one core")
    sizes = {k: sum(map(len, v)) / len(v) / 1024 for k, v in sets.items()}
    rates = {k: rate(v) for k, v in sets.items()}
    for k in sets:
        print(f"  crop_blobs {k:8s} {rates[k]:7.0f} images/s  ({sizes[k]:.0f} KiB/file, "
              f"{rates[k] / rates['jpeg']:.2f}× JPEG)")
    with tempfile.TemporaryDirectory() as tmp:
        for k, blobs in sets.items():
            folder = Path(tmp) / k
            folder.mkdir()
            suffix = ".jpg" if k == "jpeg" else f".{k}"
            for i, b in enumerate(blobs):
                (folder / f"g{i:05d}{suffix}").write_bytes(b)
            start = time.perf_counter()
            summary = ingest(walk_images(folder), Path(tmp) / f"out-{k}", OPTS, workers=0, progress=False)
            seconds = time.perf_counter() - start
            assert summary.ok == n, summary
            print(f"  ingest     {k:8s} {n / seconds:7.0f} images/s  (whole job, one process)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
