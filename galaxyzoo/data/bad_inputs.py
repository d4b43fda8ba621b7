"""A corpus of broken and awkward image files, for testing that bad inputs never stop a run.

``write_bad_inputs(folder)`` writes one file per kind and returns what decoding each must
give: ``"ok"`` (odd but valid: it decodes) or the :class:`~galaxyzoo.data.errors.DecodeError`
reason. Used by galaxyzoo's own tests and available to plugin authors.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def galaxy_like(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth elliptical blob on a dark, noisy sky: uint8 H×W×3."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((x - width / 2) / (width / 6)) ** 2 + ((y - height / 2) / (height / 8)) ** 2
    blob = 220 * np.exp(-r2)[..., None] * np.array([1.0, 0.85, 0.7], np.float32)
    noisy = blob + rng.normal(8, 3, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def encode(image: np.ndarray | Image.Image, fmt: str = "JPEG", **save_options) -> bytes:
    """Encode an array (or Pillow image) with Pillow; JPEGs at quality 92 unless told."""
    im = image if isinstance(image, Image.Image) else Image.fromarray(image)
    if fmt == "JPEG":
        save_options.setdefault("quality", 92)
    buf = io.BytesIO()
    im.save(buf, fmt, **save_options)
    return buf.getvalue()


def with_jpeg_dimensions(jpeg: bytes, height: int, width: int) -> bytes:
    """The same JPEG with its frame header (SOF0/1/2) claiming another size."""
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2"):
        at = jpeg.find(marker)
        if at >= 0:
            # marker(2) length(2) precision(1) height(2) width(2)
            return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]
    raise ValueError("no SOF marker found")


def without_quantization_tables(data: bytes) -> bytes:
    """The JPEG without its DQT segments: a frame header (and end marker) to read, but nothing
    a decoder can decode (libjpeg fills in missing Huffman tables, not quantization tables)."""
    out, pos = bytearray(data[:2]), 2
    while data[pos + 1] != 0xDA:  # up to the start of scan
        end = pos + 2 + int.from_bytes(data[pos + 2: pos + 4], "big")
        if data[pos + 1] != 0xDB:
            out += data[pos:end]
        pos = end
    return bytes(out + data[pos:])


def with_png_dimensions(png: bytes, height: int, width: int) -> bytes:
    """The same PNG with its IHDR claiming another size (CRC fixed so readers trust it)."""
    ihdr = png[12:29]  # b"IHDR" + 13 data bytes
    patched = ihdr[:4] + struct.pack(">II", width, height) + ihdr[12:]
    return png[:12] + patched + struct.pack(">I", zlib.crc32(patched)) + png[33:]


def bad_input_corpus(seed: int = 0) -> dict[str, tuple[bytes, str]]:
    """File name → (content, expected outcome) for every kind of bad or awkward file."""
    rgb = galaxy_like(seed=seed)
    jpeg = encode(rgb)
    png = encode(rgb, "PNG")
    return {
        "truncated_in_scan.jpg": (jpeg[: (jpeg.find(b"\xff\xda") + len(jpeg)) // 2], "truncated"),
        "truncated_in_header.jpg": (jpeg[:40], "truncated"),
        "zero_bytes.jpg": (b"", "empty"),
        "text_named.jpg": (b"<html><body>404 Not Found</body></html>\n", "not_an_image"),
        "gif_named.jpg": (encode(Image.fromarray(rgb).convert("P"), "GIF"), "not_an_image"),
        "garbage_between_markers.jpg": (b"\xff\xd8\xff" + bytes(range(256)) * 4 + b"\xff\xd9", "corrupt"),
        "bomb_header.jpg": (with_jpeg_dimensions(jpeg, 60000, 60000), "too_large"),
        "bomb_header.png": (with_png_dimensions(png, 60000, 60000), "too_large"),
        "truncated.png": (png[: len(png) // 2], "truncated"),
        "png_named.jpg": (png, "ok"),
        "grayscale.jpg": (encode(Image.fromarray(rgb).convert("L")), "ok"),
        "cmyk.jpg": (encode(Image.fromarray(rgb).convert("CMYK")), "ok"),
        "progressive.jpg": (encode(rgb, progressive=True), "ok"),
        "rgba.png": (encode(Image.fromarray(rgb).convert("RGBA"), "PNG"), "ok"),
    }


def write_bad_inputs(folder: str | Path, seed: int = 0) -> dict[str, str]:
    """Write :func:`bad_input_corpus` plus a directory named like an image into ``folder``;
    return file name → expected outcome (``"ok"`` or a DecodeError reason)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (content, outcome) in bad_input_corpus(seed).items():
        (folder / name).write_bytes(content)
        expected[name] = outcome
    (folder / "directory_named.jpg").mkdir(exist_ok=True)
    expected["directory_named.jpg"] = "unreadable"
    return expected
