"""The CPU kernels under AddressSanitizer and UndefinedBehaviorSanitizer: csrc/tools/
sanitize_driver.cpp runs random cases through find_roi and crop_resize, with the AVX2
kernels and with the baseline ones (GALAXYZOO_NO_AVX2=1), and checks every output pixel
against gz_common.h's per-pixel definition (the one the CUDA backend follows) bit for bit."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CSRC = Path(__file__).resolve().parents[1] / "csrc"


@pytest.mark.slow
def test_kernels_are_clean_under_asan_and_ubsan(tmp_path):
    compiler = shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path / "sanitize_driver"
    sources = [CSRC / f for f in ("tools/sanitize_driver.cpp", "cpu/find_roi.cpp", "cpu/crop_resize.cpp",
                                  "cpu/gray.cpp")]
    subprocess.run([compiler, "-std=c++17", "-O1", "-g", "-ffp-contract=off",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-fno-omit-frame-pointer", f"-I{CSRC}", *map(str, sources), "-o", str(exe)],
                   check=True, timeout=300)
    for env in ({}, {"GALAXYZOO_NO_AVX2": "1"}):
        done = subprocess.run([str(exe), "3000", "7"], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **env})
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
