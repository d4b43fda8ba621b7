"""The common FITS case without astropy's per-HDU overhead: uncompressed image HDUs (primary +
``IMAGE`` extensions) are read straight from their cards and big-endian pixels; anything else
(tile-compressed ``.fz``, tables, random groups, a malformed card) returns None, and the caller
reads the file with astropy, which also names what is wrong with a bad one. Headers are kept as
raw bytes so astropy can parse the WCS of the one that has it."""
from __future__ import annotations

import math

import numpy as np

BLOCK = 2880
_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


class PlainHeader(dict):
    """Card values by keyword (as text), plus ``raw``: the header's bytes."""
    raw: bytes = b""


def _value(text: str) -> str:
    text = text.strip()
    if text.startswith("'"):
        end = text.find("'", 1)
        while end != -1 and text[end + 1:end + 2] == "'":  # '' is an escaped quote
            end = text.find("'", end + 2)
        return text[1:end].replace("''", "'").rstrip() if end != -1 else text[1:]
    return text.split("/", 1)[0].strip()


def _header(data: bytes, at: int) -> tuple[PlainHeader, int] | None:
    header = PlainHeader()
    pos = at
    while pos + BLOCK <= len(data):
        block = data[pos:pos + BLOCK]
        pos += BLOCK
        try:
            text = block.decode("ascii")
        except UnicodeDecodeError:
            return None
        for k in range(0, BLOCK, 80):
            card = text[k:k + 80]
            key = card[:8].strip()
            if key == "END":
                header.raw = data[at:pos]
                return header, pos
            if card[8:10] == "= " and key not in header:
                header[key] = _value(card[10:])
    return None


def read_plain(data: bytes, max_values: int) -> list[tuple[PlainHeader, np.ndarray]] | None:
    """[(header, float32 array), ...] of the image HDUs with pixels, or None (use astropy)."""
    out, pos = [], 0
    try:
        while pos < len(data):
            parsed = _header(data, pos)
            if parsed is None:
                return None
            header, pos = parsed
            if pos == BLOCK and header.get("SIMPLE") != "T" or header.get("GROUPS") == "T":
                return None
            if pos > BLOCK and header.get("XTENSION") != "IMAGE":
                return None
            bitpix, naxis = int(header["BITPIX"]), int(header["NAXIS"])
            shape = tuple(int(header[f"NAXIS{i}"]) for i in range(naxis, 0, -1))
            count = math.prod(shape) if naxis else 0
            if count > max_values or bitpix not in _DTYPES:
                return None
            nbytes = count * abs(bitpix) // 8
            if pos + nbytes > len(data):
                return None
            if count:
                raw = np.frombuffer(data, _DTYPES[bitpix], count, pos).reshape(shape)
                pixels = raw.astype(np.float32)
                if bitpix > 0 and "BLANK" in header:
                    pixels[raw == int(header["BLANK"])] = np.nan
                scale, zero = float(header.get("BSCALE", 1)), float(header.get("BZERO", 0))
                if scale != 1 or zero != 0:
                    pixels = pixels * np.float32(scale) + np.float32(zero)
                out.append((header, pixels))
            pos += -(-nbytes // BLOCK) * BLOCK
    except (KeyError, ValueError):
        return None
    return out
