"""Shared benchmark fixtures: the real gz2_sample images decoded into memory.

Benchmark modules are named ``bench_*.py``; this hook collects them (pytest's default only
collects ``test_*.py``). Run with ``make bench`` (``pytest benchmarks --benchmark-only``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz2_sample"


def pytest_collect_file(file_path, parent):
    # Files named on the command line are collected by pytest itself.
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") \
            and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


_SUMMARY: list[str] = []


@pytest.fixture
def summary_line():
    """Append a line to the speed-up summary printed after the benchmark table."""
    return _SUMMARY.append


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter):
    if _SUMMARY:
        terminalreporter.section("speed-ups measured in this run")
        for line in _SUMMARY:
            terminalreporter.write_line(line)


def sample_files(n: int) -> list[Path]:
    """``n`` real JPEGs spread evenly over the sample (skips when it is absent)."""
    files = sorted((SAMPLE / "images").glob("*.jpg"))
    if not files:
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    return files[:: max(1, len(files) // n)][:n]


@pytest.fixture(scope="session")
def gz2_images() -> np.ndarray:
    """512 decoded 424×424 RGB images, uint8 N×H×W×3."""
    import simplejpeg

    return np.stack([simplejpeg.decode_jpeg(p.read_bytes(), colorspace="RGB")
                     for p in sample_files(512)])
