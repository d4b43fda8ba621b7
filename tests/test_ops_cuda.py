"""The CUDA backend (csrc/cuda/) against the CPU backend.

Three layers, so that the kernels are exercised even where no GPU is:
- always: the module imports without a driver and rejects bad arguments before any CUDA call;
- everywhere a C++ compiler is: the real host and kernel code of csrc/cuda/ built for the CPU
  against tests/cuda_emulation/cuda_runtime.h (every CUDA thread an OS thread, real atomics
  and barriers), compared bit for bit with galaxyzoo._native;
- @pytest.mark.gpu (``make gpu-test``): the same comparisons on a device, plus streams,
  synchronisation, graph capture, huge batches and a second device.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from galaxyzoo import _native, ops

_IMPORT_ERROR = None
try:
    from galaxyzoo import _native_cuda
except ImportError as exc:  # reported by test_module_imports_and_sees_no_device_without_cuda
    _native_cuda, _IMPORT_ERROR = None, exc

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "gz2_sample"
MODES = {"seed": _native.MODE_SEED, "central": _native.MODE_CENTRAL}


def sky(rng: np.random.Generator, h: int, w: int, n_blobs: int) -> np.ndarray:
    """A dark noisy sky with bright elliptical blobs and a few hot pixels, uint8 H×W×3."""
    img = rng.normal(6, 2.0, (h, w, 3))
    yy, xx = np.mgrid[:h, :w]
    for _ in range(n_blobs):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(1, h / 4 + 1), rng.uniform(1, w / 4 + 1)
        img += rng.uniform(30, 200) * np.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2))[..., None]
    img.reshape(-1, 3)[rng.integers(0, h * w, 3)] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def speckle(rng: np.random.Generator, n: int, h: int, w: int, density: float) -> np.ndarray:
    """Random pixels at random levels: many small components, diagonal contacts, ties."""
    on = rng.random((n, h, w, 1)) < density
    return (on * rng.integers(0, 256, (n, h, w, 3))).astype(np.uint8)


def tied_pair() -> np.ndarray:
    """Two components with the same bbox area whose first pixels share a row: A (first pixel
    (0, 4)) comes first in raster order, but most of A lies on row 5, later than B's first
    pixel (100, 4). Seed mode must pick B (ties go to the later first pixel); getting a
    component's first pixel wrong (e.g. in a warp reduction) picks A."""
    img = np.zeros((1, 64, 200, 3), np.uint8)
    img[0, 4, 0:10] = 200
    img[0, 5, 0:40] = 200
    img[0, 4:6, 100:140] = 200
    return img


def random_boxes(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    x0, y0 = rng.integers(0, w, n), rng.integers(0, h, n)
    x1 = x0 + 1 + (rng.random(n) * (w - x0)).astype(int)
    y1 = y0 + 1 + (rng.random(n) * (h - y0)).astype(int)
    return np.stack([x0, y0, x1, y1], 1).astype(np.int32)


def random_rotation(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    """(cos, sin) float32 N×2 as ops.py passes it: exact for right angles."""
    if kind == "none":
        return None
    if kind == "right":
        k = rng.integers(0, 4, n)
        return np.stack([np.round(np.cos(k * np.pi / 2)), np.round(np.sin(k * np.pi / 2))], 1).astype(np.float32)
    a = np.radians(rng.uniform(0, 360, n))
    return np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32)


def cpu_boxes(images: np.ndarray, mode: str, threshold: int, k: float = 3.0, pad: float = 0.1) -> np.ndarray:
    boxes = np.empty((len(images), 4), np.int32)
    _native.find_roi(images, MODES[mode], threshold, k, pad, boxes, 1)
    return boxes


def cpu_resample(images, boxes, size, rot, flips, interp, out_dtype, gray, mean, std) -> np.ndarray:
    out = np.empty((len(images), 1 if gray else 3, size, size), np.float32 if out_dtype == 0 else np.uint8)
    _native.crop_resize(images, boxes, out, size, rot, flips, interp, gray, list(mean), list(std), 1)
    return out


def sample_images(count: int) -> np.ndarray:
    if not (SAMPLE / "images").is_dir():
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    names = sorted((SAMPLE / "images").glob("*.jpg"))
    picked = names[:: max(1, len(names) // count)][:count]
    try:
        import simplejpeg
    except ImportError:  # the device image has OpenCV but no simplejpeg
        import cv2

        return np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in picked])
    return np.stack([simplejpeg.decode_jpeg(p.read_bytes(), colorspace="RGB") for p in picked])


# --- always: no GPU needed --------------------------------------------------------------------

def test_module_imports_and_sees_no_device_without_cuda():
    assert _native_cuda is not None, f"galaxyzoo._native_cuda does not import: {_IMPORT_ERROR}"
    assert isinstance(_native_cuda.device_count(), int)
    if not torch.cuda.is_available():
        assert _native_cuda.device_count() == 0
    assert (_native_cuda.MODE_SEED, _native_cuda.MODE_CENTRAL) == (_native.MODE_SEED, _native.MODE_CENTRAL)
    assert (_native_cuda.INTERP_AREA, _native_cuda.INTERP_BILINEAR) == (_native.INTERP_AREA, _native.INTERP_BILINEAR)


built = pytest.mark.skipif(_native_cuda is None, reason="galaxyzoo._native_cuda was not built")


@built
def test_scratch_size_grows_with_the_batch_and_rejects_nonsense():
    one = _native_cuda.scratch_bytes_find_roi(1, 424, 424)
    assert 424 * 424 < one < 424 * 424 * 16  # a few int32 per 2x2 block
    assert _native_cuda.scratch_bytes_find_roi(8, 424, 424) > 7 * one
    for n, h, w in [(0, 4, 4), (1, 0, 4), (1, 4, -1), (1, 40000, 4)]:
        with pytest.raises(ValueError):
            _native_cuda.scratch_bytes_find_roi(n, h, w)


def roi_args(**change):
    args = dict(images_ptr=4096, n=2, h=8, w=8, image_stride=192, row_stride=24, mode=1, threshold=-1, k=3.0,
                pad=0.1, boxes_ptr=8192, scratch_ptr=16384, scratch_bytes=1 << 20, stream=0)
    args.update(change)
    return args


def resize_args(**change):
    args = dict(images_ptr=4096, n=2, h=8, w=8, image_stride=192, row_stride=24, boxes_ptr=8192, out_ptr=16384,
                size=4, rot_ptr=0, flips_ptr=0, interp=0, out_dtype=0, gray=False, mean=[0, 0, 0],
                std=[1, 1, 1], stream=0)
    args.update(change)
    return args


@pytest.mark.parametrize("change, message", [
    (dict(n=0), "empty batch"), (dict(h=0), "zero-size"), (dict(w=40000), "limited"),
    (dict(mode=7), "mode"), (dict(threshold=256), "threshold"), (dict(threshold=-2), "threshold"),
    (dict(k=float("nan")), "k must"), (dict(pad=-0.1), "pad"), (dict(pad=11.0), "pad"),
    (dict(row_stride=12), "strides"), (dict(image_stride=100), "strides"),
    (dict(boxes_ptr=0), "null"), (dict(boxes_ptr=8194), "aligned"), (dict(scratch_bytes=100), "scratch"),
])
@built
def test_find_roi_rejects_bad_arguments_before_any_cuda_call(change, message):
    with pytest.raises(ValueError, match=message):
        _native_cuda.find_roi(**roi_args(**change))


@pytest.mark.parametrize("change, message", [
    (dict(n=0), "empty batch"), (dict(size=0), "size"), (dict(size=5000), "size"),
    (dict(interp=2), "interp"), (dict(out_dtype=3), "out_dtype"), (dict(out_ptr=0), "null"),
    (dict(out_ptr=16386), "misaligned"), (dict(std=[1, 0, 1]), "std"),
    (dict(mean=[float("inf"), 0, 0]), "mean"), (dict(row_stride=3), "strides"),
])
@built
def test_crop_resize_rejects_bad_arguments_before_any_cuda_call(change, message):
    with pytest.raises(ValueError, match=message):
        _native_cuda.crop_resize(**resize_args(**change))


@built
def test_host_pointers_are_refused_not_dereferenced():
    """Valid arguments but host memory: an exception (no driver: the runtime's error; with a
    device: 'not in CUDA device memory'), never a crash."""
    images = np.zeros((2, 8, 8, 3), np.uint8)
    boxes = np.zeros((2, 4), np.int32)
    scratch = np.zeros(_native_cuda.scratch_bytes_find_roi(2, 8, 8), np.uint8)
    with pytest.raises((RuntimeError, ValueError), match="find_roi"):
        _native_cuda.find_roi(**roi_args(images_ptr=images.ctypes.data, boxes_ptr=boxes.ctypes.data,
                                         scratch_ptr=scratch.ctypes.data, scratch_bytes=scratch.size))
    out = np.zeros((2, 3, 4, 4), np.float32)
    with pytest.raises((RuntimeError, ValueError), match="crop_resize"):
        _native_cuda.crop_resize(**resize_args(images_ptr=images.ctypes.data, boxes_ptr=boxes.ctypes.data,
                                               out_ptr=out.ctypes.data))


# --- the CUDA code on the CPU emulator ----------------------------------------------------------

EMULATION = REPO / "tests" / "cuda_emulation"
EMULATED_SOURCES = [EMULATION / "emulate.cpp", REPO / "csrc" / "cuda" / "find_roi.cu",
                    REPO / "csrc" / "cuda" / "crop_resize.cu"]


class Emulated:
    """ctypes front of tests/cuda_emulation/emulate.cpp, with galaxyzoo._native's arguments."""

    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        p, i, ll, d, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong, ctypes.c_double, ctypes.c_char_p
        lib.gz_emu_scratch_bytes.restype = ll
        lib.gz_emu_scratch_bytes.argtypes = [ll, i, i]
        lib.gz_emu_find_roi.argtypes = [p, ll, i, i, ll, ll, i, i, d, d, p, ll, s, i]
        lib.gz_emu_crop_resize.argtypes = [p, ll, i, i, ll, ll, p, p, i, p, p, i, i, i, p, p, s, i]
        lib.gz_emu_configure.argtypes = [i, i, ctypes.c_uint]
        lib.gz_emu_stats.argtypes = [p]
        self.lib = lib
        self.configure()

    def configure(self, slots: int = 4, order: str = "shuffled", seed: int = 1) -> None:
        """Blocks in flight at once and the order they are handed out in (default for every test:
        4 concurrent blocks, shuffled)."""
        self.lib.gz_emu_configure(slots, {"forward": 0, "reverse": 1, "shuffled": 2}[order], seed)

    STATS = ["walk_max", "walk_total", "walks", "concurrent_launches", "serial_launches", "poison_tiles",
             "plain_tiles", "global_area_tiles", "staged_area_tiles", "global_rotated_tiles",
             "staged_rotated_tiles", "staged_misses"]

    def stats(self) -> dict:
        out = (ctypes.c_longlong * len(self.STATS))()
        self.lib.gz_emu_stats(out)
        return dict(zip(self.STATS, out))

    def reset_stats(self) -> None:
        self.lib.gz_emu_reset_stats()

    def _check(self, rc: int, err) -> None:
        if rc:
            raise ValueError(err.value.decode())

    def find_roi(self, images, mode, threshold, k=3.0, pad=0.1, chunk=None) -> np.ndarray:
        """chunk: scratch for that many images only (the batch then runs in chunks)."""
        n, h, w, _ = images.shape
        boxes = np.full((n, 4), -1, np.int32)
        err = ctypes.create_string_buffer(512)
        rc = self.lib.gz_emu_find_roi(images.ctypes.data, n, h, w, images.strides[0], images.strides[1],
                                      MODES[mode], threshold, k, pad, boxes.ctypes.data,
                                      self.lib.gz_emu_scratch_bytes(chunk or n, h, w), err, 512)
        self._check(rc, err)
        return boxes

    def crop_resize(self, images, boxes, size, rot, flips, interp, out_dtype, gray, mean, std) -> np.ndarray:
        n, h, w, _ = images.shape
        out = np.full((n, 1 if gray else 3, size, size), 7, np.float32 if out_dtype == 0 else np.uint8)
        m, sd = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        err = ctypes.create_string_buffer(512)
        rc = self.lib.gz_emu_crop_resize(
            images.ctypes.data, n, h, w, images.strides[0], images.strides[1], boxes.ctypes.data, out.ctypes.data,
            size, 0 if rot is None else rot.ctypes.data, 0 if flips is None else flips.ctypes.data, interp,
            out_dtype, int(gray), m.ctypes.data, sd.ctypes.data, err, 512)
        self._check(rc, err)
        return out


@pytest.fixture(scope="session")
def emulated(tmp_path_factory) -> Emulated:
    """Builds the emulator once per session (shared by xdist workers, under a lock)."""
    return Emulated(build_emulator(tmp_path_factory))


def build_emulator(tmp_path_factory, defines: tuple[str, ...] = ()) -> Path:
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler for the CUDA emulator")
    deps = EMULATED_SOURCES + sorted((REPO / "csrc" / "cuda").glob("*.h")) + \
        sorted((REPO / "csrc" / "cuda").glob("*.cuh")) + [REPO / "csrc" / "gz_common.h", EMULATION / "cuda_runtime.h"]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in deps) + " ".join(defines).encode()).hexdigest()[:16]
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    lib = shared / f"gz_cuda_emulated_{key}.so"
    with open(shared / "gz_cuda_emulated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not lib.exists():
            cmd = [cxx, "-std=c++20", "-O1", "-ffp-contract=off", "-fPIC", "-shared", *defines, f"-I{EMULATION}",
                   f"-I{REPO / 'csrc'}", "-x", "c++", *map(str, EMULATED_SOURCES), "-o", str(lib) + ".tmp",
                   "-lpthread"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"emulator build failed:\n{done.stderr[-4000:]}"
            os.replace(str(lib) + ".tmp", lib)
    return lib


def test_emulated_boxes_equal_cpu_boxes(emulated):
    rng = np.random.default_rng(11)
    cases = [sky(rng, 37, 70, 3)[None], sky(rng, 64, 33, 0)[None], np.stack([sky(rng, 30, 30, 2) for _ in range(3)])]
    cases += [speckle(rng, 2, int(rng.integers(1, 50)), int(rng.integers(1, 50)), d) for d in (0.05, 0.3, 0.6, 0.95)]
    cases += [np.zeros((1, 9, 5, 3), np.uint8), np.full((1, 6, 11, 3), 255, np.uint8),
              np.full((1, 1, 1, 3), 200, np.uint8), speckle(rng, 1, 1, 45, 0.5), speckle(rng, 1, 45, 1, 0.5)]
    for images in cases:
        for mode in MODES:
            for threshold in (-1, 10, 100):
                want = cpu_boxes(images, mode, threshold)
                got = emulated.find_roi(images, mode, threshold)
                np.testing.assert_array_equal(got, want, err_msg=f"{images.shape} {mode} {threshold}")


def test_emulated_tie_break_uses_each_component_s_first_pixel(emulated):
    images = tied_pair()
    assert emulated.find_roi(images, "seed", 10, pad=0).tolist() == [[100, 4, 140, 44]]
    np.testing.assert_array_equal(emulated.find_roi(images, "seed", 10, pad=0), cpu_boxes(images, "seed", 10, pad=0))


def test_emulated_padding_and_threshold_rules_follow_the_cpu(emulated):
    rng = np.random.default_rng(12)
    images = np.stack([sky(rng, 48, 48, 2) for _ in range(2)])
    for k, pad in [(0.0, 0.0), (1.5, 0.5), (6.0, 3.0)]:
        for mode in MODES:
            np.testing.assert_array_equal(emulated.find_roi(images, mode, -1, k, pad),
                                          cpu_boxes(images, mode, -1, k, pad))


@pytest.mark.sample
def test_emulated_boxes_equal_cpu_boxes_on_real_images(emulated):
    # Every third pixel of real images: real structure at a size the emulator runs quickly.
    images = np.ascontiguousarray(sample_images(3)[:, ::3, ::3])
    for mode in MODES:
        for threshold in (-1, 10):
            np.testing.assert_array_equal(emulated.find_roi(images, mode, threshold),
                                          cpu_boxes(images, mode, threshold))


def test_emulated_pixels_equal_cpu_pixels_bit_for_bit(emulated):
    rng = np.random.default_rng(13)
    for trial in range(6):
        n, h, w = int(rng.integers(1, 4)), int(rng.integers(1, 70)), int(rng.integers(1, 70))
        images = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        boxes = random_boxes(rng, n, h, w)
        size = int(rng.integers(1, 30))
        for kind in ("none", "right", "any"):
            rot = random_rotation(rng, n, kind)
            flips = rng.integers(0, 4, n).astype(np.uint8) if trial % 2 else None
            for interp in (0, 1):
                for out_dtype, gray in ((0, False), (1, False), (0, True), (1, True)):
                    mean, std = ((0.1, 0.2, 0.3), (0.5, 0.25, 2.0)) if out_dtype == 0 else ((0, 0, 0), (1, 1, 1))
                    args = (images, boxes, size, rot, flips, interp, out_dtype, gray, mean, std)
                    np.testing.assert_array_equal(emulated.crop_resize(*args), cpu_resample(*args),
                                                  err_msg=f"{images.shape} {size} {kind} {interp} {out_dtype} {gray}")


def test_emulated_strided_batch_equals_contiguous(emulated):
    rng = np.random.default_rng(14)
    big = np.stack([sky(rng, 40, 50, 2) for _ in range(3)])
    view = big[:, 3:35, 5:45]  # image and row strides of the parent array
    boxes = cpu_boxes(np.ascontiguousarray(view), "central", -1)
    np.testing.assert_array_equal(emulated.find_roi(view, "central", -1), boxes)
    args = (boxes, 16, None, None, 0, 0, False, (0, 0, 0), (1, 1, 1))
    np.testing.assert_array_equal(emulated.crop_resize(view, *args),
                                  cpu_resample(np.ascontiguousarray(view), *args))


def test_emulated_bad_box_gives_nan_not_an_out_of_bounds_read(emulated):
    """ops.py checks boxes on the host; the kernel still must not read outside the image."""
    images = np.full((2, 8, 8, 3), 100, np.uint8)
    boxes = np.array([[0, 0, 8, 8], [4, 4, 12, 12]], np.int32)
    out = emulated.crop_resize(images, boxes, 4, None, None, 0, 0, False, (0, 0, 0), (1, 1, 1))
    np.testing.assert_allclose(out[0], 100 / 255, rtol=0, atol=1e-7)
    assert np.isnan(out[1]).all()
    out8 = emulated.crop_resize(images, boxes, 4, None, None, 0, 1, False, (0, 0, 0), (1, 1, 1))
    assert (out8[0] == 100).all() and (out8[1] == 0).all()


def snake(h: int, w: int) -> np.ndarray:
    """One component winding through the whole image: 2-pixel rows joined at alternate ends,
    the longest union-find chains a block order can build."""
    img = np.zeros((h, w, 3), np.uint8)
    for y in range(0, h, 4):
        img[y:y + 2] = 200
        x = w - 2 if (y // 4) % 2 == 0 else 0
        img[y:y + 4, x:x + 2] = 200
    return img


def test_emulated_full_size_batch_with_concurrent_blocks_and_chunks(emulated):
    """Full-size 424 px images (189 tiles per image for the labelling kernels) with 4 blocks in
    flight in shuffled order, and scratch for one image, so the batch runs in three chunks
    that reuse it. Boxes equal the CPU's; the rotated pixels too, bit for bit."""
    rng = np.random.default_rng(15)
    images = np.stack([sky(rng, 424, 424, 4), snake(424, 424)])
    emulated.configure(4, "shuffled", seed=3)
    emulated.reset_stats()
    for mode, threshold in (("central", -1), ("seed", 10)):
        np.testing.assert_array_equal(emulated.find_roi(images, mode, threshold, chunk=1),
                                      cpu_boxes(images, mode, threshold), err_msg=f"{mode} {threshold}")
    stats = emulated.stats()
    assert stats["concurrent_launches"] >= 2 * 2 * 4, stats  # init, merge, compress, stats per chunk
    boxes = cpu_boxes(images, "central", -1)
    rot = random_rotation(rng, 2, "any")
    flips = np.array([1, 3], np.uint8)
    for interp in (0, 1):
        args = (images, boxes, 64, rot, flips, interp, 0, False, (0.1, 0.2, 0.3), (0.5, 0.25, 2.0))
        np.testing.assert_array_equal(emulated.crop_resize(*args), cpu_resample(*args))


def test_emulated_chunked_batches_equal_cpu_boxes(emulated):
    rng = np.random.default_rng(16)
    images = np.stack([sky(rng, 40, 52, int(rng.integers(0, 4))) for _ in range(10)])
    want = cpu_boxes(images, "central", -1)
    for chunk in (1, 3, 10):
        np.testing.assert_array_equal(emulated.find_roi(images, "central", -1, chunk=chunk), want)


@pytest.mark.parametrize("order", ["forward", "reverse", "shuffled"])
def test_emulated_block_orders_agree(emulated, order):
    rng = np.random.default_rng(17)
    images = np.concatenate([speckle(rng, 2, 90, 130, 0.55), snake(90, 130)[None]])
    for slots in ((1, 4) if order == "reverse" else (4,)):
        emulated.configure(slots, order, seed=5)
        for mode in MODES:
            np.testing.assert_array_equal(emulated.find_roi(images, mode, 20), cpu_boxes(images, mode, 20))
    emulated.configure()


def test_union_find_walks_stay_short_when_blocks_run_in_reverse(emulated, tmp_path_factory):
    """Path halving in the merge and compress phases: with blocks handed out in reverse, one at
    a time, the snake's union-find walks are many times shorter than without it."""
    image = snake(424, 424)[None]
    before = Emulated(build_emulator(tmp_path_factory, ("-DGZ_CCL_NO_HALVING",)))
    results = {}
    for name, emu in (("halving", emulated), ("none", before)):
        emu.configure(1, "reverse")
        emu.reset_stats()
        np.testing.assert_array_equal(emu.find_roi(image, "central", 10), cpu_boxes(image, "central", 10))
        results[name] = emu.stats()
        emu.configure()
    assert results["halving"]["walk_total"] * 3 < results["none"]["walk_total"], results
    # The longest single walk depends on how the block's threads interleave (OS scheduling in
    # the emulator; 183 vs 178 seen under load), so only a pathological chain fails here.
    assert results["halving"]["walk_max"] <= 2 * results["none"]["walk_max"], results


def test_emulated_kernel_poisons_bad_device_side_arguments(emulated):
    """Device-side angles, flips and boxes are not checked on the host (that needs a sync): the
    kernel turns a non-finite rotation, a flip code > 3 or a bad box into NaN (0 for uint8)."""
    rng = np.random.default_rng(18)
    images = rng.integers(0, 256, (4, 20, 20, 3), dtype=np.uint8)
    boxes = np.array([[0, 0, 20, 20]] * 4, np.int32)
    rot = np.array([[1, 0], [np.nan, np.nan], [0.6, 0.8], [1, 0]], np.float32)
    flips = np.array([0, 0, 0, 255], np.uint8)
    for out_dtype, poisoned in ((0, np.isnan), (1, lambda x: x == 0)):
        out = emulated.crop_resize(images, boxes, 8, rot, flips, 0, out_dtype, False, (0, 0, 0), (1, 1, 1))
        assert poisoned(out[1]).all() and poisoned(out[3]).all()
        assert not np.isnan(out[[0, 2]].astype(np.float32)).any()
        ok = cpu_resample(images[[0, 2]], boxes[[0, 2]], 8, rot[[0, 2]], flips[[0, 2]], 0, out_dtype, False,
                          (0, 0, 0), (1, 1, 1))
        np.testing.assert_array_equal(out[[0, 2]], ok)


@pytest.fixture(scope="session")
def emulated_plain(tmp_path_factory) -> Emulated:
    """The emulator with crop_resize's tile plans compiled out: every pixel is gz_common.h's
    output_pixel on the image in global memory, as the kernel computed it before staging."""
    return Emulated(build_emulator(tmp_path_factory, ("-DGZ_CROP_PLAIN",)))


TILE_PATHS = ["plain_tiles", "global_area_tiles", "staged_area_tiles", "global_rotated_tiles", "staged_rotated_tiles"]


def staging_cases(rng: np.random.Generator):
    """(images, boxes, size, {gray: the path every tile takes at 45 degrees, interp "area"} or None) for
    crop_resize: full-size skies with ROI boxes; a large box that fits the 40 KiB budget in
    grey only; whole images to 32 px (over budget, taps within the tables) and to 8 px (taps
    beyond them); small random boxes; a view whose rows start 3 bytes off."""
    big = np.stack([sky(rng, 424, 424, 4) for _ in range(2)])
    whole = np.array([[0, 0, 424, 424]] * 2, np.int32)
    yield big, cpu_boxes(big, "central", -1), 64, None
    # 296 px -> 48 px at 45 degrees: a tile's footprint is ~142 px square, inside the image
    # (not clipped): 60 KB in RGB, 20 KB in grey.
    large = np.array([[64, 64, 360, 360]] * 2, np.int32)
    yield big, large, 48, {False: "global_rotated_tiles", True: "staged_rotated_tiles"}
    yield big, whole, 32, {False: "global_rotated_tiles", True: "global_rotated_tiles"}  # 14 sub-samples
    yield big, whole, 8, {False: "plain_tiles", True: "plain_tiles"}  # 53 sub-samples per axis
    small = rng.integers(0, 256, (3, 61, 47, 3), dtype=np.uint8)
    yield small, random_boxes(rng, 3, 61, 47), int(rng.integers(5, 40)), None
    view = rng.integers(0, 256, (2, 50, 53, 3), dtype=np.uint8)[:, 1:, 1:]
    yield view, random_boxes(rng, 2, 49, 52), 33, None


def test_emulated_staged_and_tabled_tiles_equal_output_pixel_and_the_cpu(emulated, emulated_plain):
    """Each tile is staged in shared memory when its source region fits the budget, and reads
    global memory otherwise; weights and sub-sample coordinates come from per-tile tables
    unless the taps are too many. Every case is byte-identical to the output_pixel-only build
    and to the CPU, no staged read falls outside the staged region, and every path is taken."""
    rng = np.random.default_rng(31)
    seen = dict.fromkeys(TILE_PATHS + ["staged_misses"], 0)
    half = np.float32(np.sqrt(0.5))
    for images, boxes, size, at_45 in staging_cases(rng):
        n = len(images)
        for kind in ("none", "right", "any", "45"):
            rot = np.full((n, 2), half, np.float32) if kind == "45" else random_rotation(rng, n, kind)
            flips = rng.integers(0, 4, n).astype(np.uint8)
            for interp in (0, 1):
                for out_dtype, gray in ((0, False), (1, True)) if interp else ((1, False), (0, True)):
                    mean, std = ((0.1, 0.2, 0.3), (0.5, 0.25, 2.0)) if out_dtype == 0 else ((0, 0, 0), (1, 1, 1))
                    args = (images, boxes, size, rot, flips, interp, out_dtype, gray, mean, std)
                    where = f"{images.shape} {size} {kind} {interp} {out_dtype} {gray}"
                    emulated.reset_stats()  # the counters are shared by every emulator build loaded
                    got = emulated.crop_resize(*args)
                    stats = emulated.stats()
                    seen = {k: v + stats[k] for k, v in seen.items()}
                    if at_45 and kind == "45" and interp == 0:
                        assert stats[at_45[gray]] == sum(stats[k] for k in TILE_PATHS), (where, stats)
                    assert got.tobytes() == emulated_plain.crop_resize(*args).tobytes(), where
                    np.testing.assert_array_equal(got, cpu_resample(np.ascontiguousarray(images), *args[1:]),
                                                  err_msg=where)
    assert seen.pop("staged_misses") == 0
    assert all(seen.values()), seen


@built
def test_find_roi_scratch_is_bounded():
    one = _native_cuda.scratch_bytes_find_roi(1, 424, 424)
    assert _native_cuda.scratch_bytes_find_roi(1024, 424, 424) <= (128 << 20) + (1 << 12)
    assert _native_cuda.scratch_bytes_find_roi(10 ** 7, 424, 424) == _native_cuda.scratch_bytes_find_roi(1024, 424, 424)
    assert _native_cuda.find_roi_chunk_images(1024, 424, 424) >= 64
    assert _native_cuda.find_roi_chunk_images(3, 424, 424) == 3
    assert _native_cuda.scratch_bytes_find_roi(3, 424, 424) < 3 * one + 4096
    # One image larger than the budget still gets its scratch (a chunk of one).
    assert _native_cuda.find_roi_chunk_images(5, 32768, 32768) == 1


# --- cos/sin, argument preparation without host syncs -------------------------------------------

def old_rotation(a: np.ndarray) -> torch.Tensor:
    """The rule ops.py used before: library cos/sin in float64, right angles snapped."""
    import math

    a = torch.remainder(torch.as_tensor(a, dtype=torch.float64), 360.0)
    quarter = a / 90.0
    right = quarter == torch.round(quarter)
    k = torch.round(quarter).long() % 4
    exact = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)[k]
    rad = a * (math.pi / 180.0)
    return torch.where(right[:, None], exact, torch.stack([torch.cos(rad), torch.sin(rad)], 1)).to(torch.float32)


def test_cos_sin_is_the_old_rule_bit_for_bit_on_ordinary_angles():
    """The float64 polynomial ops.py now uses on both devices gives the float32 (cos, sin) of
    the library rule on random and on grid angles (it differs only in the last bit within
    ~1e-3 degrees of a multiple of 90, where the library rule loses precision)."""
    rng = np.random.default_rng(19)
    for a in (rng.uniform(0, 360, 200_000), rng.uniform(-1e4, 1e4, 100_000), np.arange(-720, 720.5, 0.5),
              rng.integers(-8, 8, 1000) * 90.0):
        new = ops._cos_sin_degrees(torch.from_numpy(a)).to(torch.float32)
        assert torch.equal(new.view(torch.int32), old_rotation(a).view(torch.int32))
    rot = ops._rotation([0, 90, 180, 270, -90, 450], 6, torch.device("cpu"))
    assert rot.tolist() == [[1, 0], [0, 1], [-1, 0], [0, -1], [0, -1], [0, 1]]
    assert not torch.signbit(rot).any() or bool((rot[torch.signbit(rot)] < 0).all())


def test_device_side_preparation_poisons_and_records_instead_of_raising():
    """The device-side branches (run here on CPU tensors: they are device-agnostic torch code)
    never raise on values; they mark the image and set the per-device flag that
    check_cuda_inputs() raises from."""
    dev = torch.device("cpu")
    ops._ERROR_FLAGS.clear()
    rot = ops._device_rotation(torch.tensor([30.0, float("nan"), 90.0]), 3, dev)
    assert torch.isnan(rot[1]).all() and torch.isfinite(rot[[0, 2]]).all()
    flips = ops._device_flips(torch.tensor([0, 3, -1, 256, 7]), 5, dev)
    assert flips.tolist() == [0, 3, 255, 255, 255] and flips.dtype == torch.uint8
    boxes = ops._device_boxes(torch.tensor([[0, 0, 4, 4], [2, 2, 2, 5], [0, 0, 9, 4], [0, 0, 2 ** 32 + 3, 4]]), 8, 8, dev)
    assert boxes.tolist() == [[0, 0, 4, 4], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]] and boxes.dtype == torch.int32
    with pytest.raises(ValueError, match="angles must be finite.*flips must be 0..3.*box is empty"):
        ops.check_cuda_inputs("cpu")
    ops.check_cuda_inputs("cpu")  # cleared
    with pytest.raises(ValueError, match="one entry per image"):
        ops._device_rotation(torch.zeros(2), 3, dev)
    with pytest.raises(TypeError):
        ops._device_flips(torch.zeros(3), 3, dev)


class HostTransferGuard:
    """Fails on anything that moves data between host and device or reads device values on the
    host, with 'meta' tensors playing CUDA tensors (they have no data: any read raises, and any
    copy from the host shows as an op with CPU inputs and meta outputs). torch.tensor /
    as_tensor with data and a device do not go through the dispatcher, so they are wrapped."""

    READS = {"aten::_local_scalar_dense", "aten::item", "aten::is_nonzero", "aten::nonzero", "aten::equal"}

    def __init__(self, monkeypatch):
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_leaves

        self.violations, self.uploads, self.allowed = [], [], False
        guard = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                name = func._schema.name
                ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
                if name in guard.READS and any(t.device.type == "meta" for t in ins):
                    guard.violations.append(f"device value read on the host: {name}")
                to_host = kwargs.get("device") is not None and torch.device(kwargs["device"]).type == "cpu"
                if name in ("aten::_to_copy", "aten::copy_") and to_host and any(t.device.type == "meta" for t in ins):
                    guard.violations.append(f"device-to-host copy: {name}")
                out = func(*args, **kwargs)
                outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
                host_in = any(t.device.type == "cpu" and t.dim() > 0 for t in ins)
                if not guard.allowed and host_in and any(t.device.type == "meta" for t in outs):
                    guard.violations.append(f"host-to-device copy outside _upload: {name}")
                if any(t.device.type == "meta" for t in ins) and any(t.device.type == "cpu" for t in outs):
                    guard.violations.append(f"device-to-host copy: {name}")
                return out

        self.mode = Mode()
        for factory in ("tensor", "as_tensor"):
            real = getattr(torch, factory)

            def wrapped(data, *a, _real=real, _name=factory, **kw):
                device = kw.get("device")
                if device is not None and torch.device(device).type != "cpu" and not guard.allowed and \
                        not (isinstance(data, torch.Tensor) and data.device.type != "cpu"):
                    guard.violations.append(f"torch.{_name}(host data, device={device})")
                return _real(data, *a, **kw)

            monkeypatch.setattr(torch, factory, wrapped)

        def upload(t, device):
            assert t.device.type == "cpu"
            guard.uploads.append(tuple(t.shape))
            guard.allowed = True
            try:
                return t.to(device)  # on a real device: pinned memory, non_blocking
            finally:
                guard.allowed = False

        monkeypatch.setattr(ops, "_upload", upload)

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


class FakeCudaModule:
    """Records what ops.py hands galaxyzoo._native_cuda."""

    def __init__(self):
        self.calls = []

    def scratch_bytes_find_roi(self, n, h, w):
        return 4096

    def find_roi(self, *args):
        self.calls.append("find_roi")

    def crop_resize(self, *args):
        self.calls.append("crop_resize")


@pytest.fixture
def fake_device(monkeypatch):
    """ops.py's CUDA path with 'meta' tensors as CUDA tensors and a recording native module."""
    fake = FakeCudaModule()
    monkeypatch.setattr(ops, "_is_cuda", lambda x: isinstance(x, torch.Tensor) and x.device.type in ("cuda", "meta"))
    monkeypatch.setattr(ops, "_cuda_module", lambda: fake)
    monkeypatch.setattr(ops, "cuda_unavailable_reason", lambda device=None: None)
    monkeypatch.setattr(ops, "_stream", lambda images: 0)
    monkeypatch.setattr(ops, "_ERROR_FLAGS", {})
    check = ops._check_images
    monkeypatch.setattr(ops, "_check_images", lambda images: images.contiguous()
                        if isinstance(images, torch.Tensor) and images.device.type == "meta" else check(images))
    return fake


def test_guard_catches_the_old_host_syncs(monkeypatch):
    """The guard is not vacuous: each pattern issue 13 found is reported."""
    meta = torch.zeros(4, device="meta")
    with HostTransferGuard(monkeypatch) as guard:
        torch.tensor([[1.0, 0.0], [0.0, 1.0]], device="meta")  # the old exact-rotation table
        torch.tensor([0, 0, 5, 5], dtype=torch.int32, device="meta").repeat(3, 1)  # old whole-image boxes
        torch.ones(3).to("meta")  # a pageable upload
        for read in (lambda: bool(meta.any()), lambda: meta.cpu(), lambda: meta.tolist()):
            try:
                read()
            except (RuntimeError, NotImplementedError):
                pass
    text = "\n".join(guard.violations)
    assert text.count("torch.tensor(host data") == 2, text
    assert "host-to-device copy" in text and "device value read" in text and "device-to-host" in text, text


@pytest.mark.parametrize("where", ["device", "host"])
def test_cuda_path_prepares_arguments_without_host_syncs(fake_device, monkeypatch, where):
    """ops.py's whole CUDA path (find_roi + crop_resize, given boxes, whole images, angles,
    flips, grey, uint8) on device-side arguments moves nothing between host and device; on
    host-side ones, exactly one upload per argument (pinned, non-blocking on a GPU)."""
    n = 4
    images = torch.empty((n, 424, 424, 3), dtype=torch.uint8, device="meta")
    on = (lambda t: t.to("meta")) if where == "device" else (lambda t: t.numpy())
    angles, flips = on(torch.tensor([0.0, 30.0, 90.0, 200.0])), on(torch.tensor([0, 1, 2, 3]))
    boxes = on(torch.tensor([[0, 0, 424, 424]] * n, dtype=torch.int32))
    with HostTransferGuard(monkeypatch) as guard:
        out, found = ops.preprocess(images, 64, angles=angles, flips=flips, return_boxes=True)
        assert out.shape == (n, 3, 64, 64) and found.shape == (n, 4) and out.device.type == "meta"
        ops.preprocess(images, 32, mode=None, angles=angles, out_dtype="uint8", grayscale=True)
        ops.crop_resize(images, boxes, 48, angles=angles, flips=flips, mean=[0.5] * 3, std=[0.2] * 3)
        ops.find_roi(images, mode="seed", threshold=10)
        ops.find_roi(images, mode=None)
    assert guard.violations == [], guard.violations
    assert fake_device.calls == ["find_roi", "crop_resize", "crop_resize", "crop_resize", "find_roi"]
    # Host-side: angles and flips of the three calls with them, boxes once.
    assert len(guard.uploads) == (0 if where == "device" else 3 + 2 + 1), guard.uploads


def test_unusable_device_reasons_name_the_cause():
    class Module:
        BUILT_ARCHITECTURES = "80-real 90"

        def __init__(self, count=1, runtime=13000, driver=13000, cap="9.0", image=""):
            self.count, self.rt, self.drv, self.cap, self.image = count, runtime, driver, cap, image

        def device_count(self):
            return self.count

        def runtime_version(self):
            return self.rt

        def driver_version(self):
            return self.drv

        def device_capability(self, i):
            return self.cap

        def kernel_image_error(self, i):
            return self.image

    assert ops._device_reason(Module(), 0) is None
    assert "older than the CUDA 13.0 runtime" in ops._device_reason(Module(count=0, driver=12040), 0)
    assert "sees no device" in ops._device_reason(Module(count=0), 0)
    assert "capability 7.5" in ops._device_reason(Module(cap="7.5"), 0)
    assert "not visible" in ops._device_reason(Module(), 3)
    assert "no kernel image" in ops._device_reason(Module(cap="12.0", image="no kernel image is available"), 0)


def test_unusable_cuda_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setattr(ops, "_is_cuda", lambda x: True)
    monkeypatch.setattr(ops, "cuda_unavailable_reason", lambda device=None: "a test reason")
    monkeypatch.setattr(ops, "_WARNED", set())
    images = torch.zeros((1, 4, 4, 3), dtype=torch.uint8)
    with pytest.warns(RuntimeWarning, match="a test reason.*on the CPU"):
        assert ops._falls_back(images)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ops._falls_back(images)  # once only


BLOCK_SIMPLEJPEG = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "simplejpeg" or name.startswith("simplejpeg."):
            raise ImportError("simplejpeg is not installed on the device image")
sys.meta_path.insert(0, _Block())
"""


def test_gpu_tests_collect_without_simplejpeg(tmp_path):
    """The device image has no simplejpeg: every file with GPU tests must still collect (what
    `make gpu-check` runs: benchmarks/gpu_check.py's gpu_test_files())."""
    import subprocess
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from gpu_check import gpu_test_files
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    (tmp_path / "sitecustomize.py").write_text(BLOCK_SIMPLEJPEG)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    blocked = subprocess.run([sys.executable, "-c", "import simplejpeg"], env=env, capture_output=True)
    assert blocked.returncode != 0
    files = gpu_test_files()
    assert "tests/test_ops_cuda.py" in files and "benchmarks/bench_cuda.py" in files
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                           *files], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " collected" in done.stdout or "tests collected" in done.stdout


# --- on a CUDA device -------------------------------------------------------------------------

_REASON = ops.cuda_unavailable_reason()


def to_cuda(value):
    return None if value is None else torch.as_tensor(value).cuda()


def on_both(images: np.ndarray, **kwargs):
    """ops.preprocess on the CPU and on the GPU: (cpu_out, cpu_boxes, cuda_out, cuda_boxes)."""
    out, boxes = ops.preprocess(images, return_boxes=True, **kwargs)
    moved = {k: to_cuda(v) if k in ("angles", "flips", "boxes") else v for k, v in kwargs.items()}
    gout, gboxes = ops.preprocess(torch.from_numpy(images).cuda(), return_boxes=True, **moved)
    assert gout.device.type == gboxes.device.type == "cuda"
    return out, boxes, gout.cpu(), gboxes.cpu()


def assert_same_pixels(cpu: torch.Tensor, cuda: torch.Tensor) -> None:
    assert cpu.dtype == cuda.dtype and cpu.shape == cuda.shape
    if cpu.dtype == torch.uint8:
        assert torch.equal(cpu, cuda), f"{int((cpu != cuda).sum())} uint8 values differ"
    else:
        torch.testing.assert_close(cuda, cpu, rtol=0, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(_REASON is not None, reason=f"no CUDA device ({_REASON})")
class TestOnDevice:
    @pytest.mark.parametrize("mode", ["seed", "central"])
    @pytest.mark.parametrize("threshold", ["auto", 10, 60])
    def test_boxes_equal_cpu_boxes(self, mode, threshold):
        rng = np.random.default_rng(21)
        for images in [np.stack([sky(rng, 91, 120, int(rng.integers(0, 5))) for _ in range(16)]),
                       speckle(rng, 8, 67, 53, 0.2), speckle(rng, 8, 64, 64, 0.7), speckle(rng, 4, 1, 300, 0.5), tied_pair()]:
            want = ops.find_roi(images, mode=mode, threshold=threshold)
            got = ops.find_roi(torch.from_numpy(images).cuda(), mode=mode, threshold=threshold)
            assert got.device.type == "cuda" and got.dtype == torch.int32
            assert torch.equal(got.cpu(), want), f"{images.shape}"

    @pytest.mark.sample
    @pytest.mark.parametrize("mode", ["seed", "central"])
    def test_boxes_and_pixels_equal_cpu_on_real_images(self, mode):
        images = sample_images(96)
        rng = np.random.default_rng(22)
        angles = rng.uniform(0, 360, len(images))
        out, boxes, gout, gboxes = on_both(images, size=64, mode=mode, angles=angles)
        assert torch.equal(gboxes, boxes)
        assert_same_pixels(out, gout)

    @pytest.mark.parametrize("kind", ["none", "right", "any"])
    @pytest.mark.parametrize("interp", ["area", "bilinear"])
    def test_pixels_equal_cpu_pixels(self, kind, interp):
        rng = np.random.default_rng(23)
        images = np.stack([sky(rng, 77, 90, 3) for _ in range(12)])
        angles = {"none": None, "right": rng.integers(0, 4, 12) * 90.0, "any": rng.uniform(0, 360, 12)}[kind]
        flips = rng.integers(0, 4, 12)
        for size, out_dtype, gray, mean, std in [(64, "float32", False, [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]),
                                                 (31, "uint8", False, None, None),
                                                 (150, "float32", True, None, None), (9, "uint8", True, None, None)]:
            out, boxes, gout, gboxes = on_both(images, size=size, angles=angles, flips=flips, interp=interp,
                                               out_dtype=out_dtype, grayscale=gray, mean=mean, std=std)
            assert torch.equal(gboxes, boxes)
            assert_same_pixels(out, gout)

    def test_given_boxes_and_whole_images(self):
        rng = np.random.default_rng(24)
        images = rng.integers(0, 256, (5, 40, 57, 3), dtype=np.uint8)
        boxes = random_boxes(rng, 5, 40, 57)
        out, _, gout, gboxes = on_both(images, size=24, boxes=boxes, angles=rng.uniform(0, 360, 5))
        assert torch.equal(gboxes, torch.from_numpy(boxes))
        assert_same_pixels(out, gout)
        out, _, gout, _ = on_both(images, size=24, mode=None)
        assert_same_pixels(out, gout)

    def test_rot90_is_np_rot90(self):
        rng = np.random.default_rng(25)
        images = torch.from_numpy(rng.integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)).cuda()
        plain = ops.preprocess(images, 48, mode=None, out_dtype="uint8").cpu().numpy()
        turned = ops.preprocess(images, 48, mode=None, angles=[90] * 3, out_dtype="uint8").cpu().numpy()
        np.testing.assert_array_equal(turned, np.rot90(plain, 1, axes=(2, 3)))
        mirrored = ops.preprocess(images, 48, mode=None, flips=[1, 2, 3], out_dtype="uint8").cpu().numpy()
        np.testing.assert_array_equal(mirrored[0], plain[0][:, :, ::-1])
        np.testing.assert_array_equal(mirrored[1], plain[1][:, ::-1, :])
        np.testing.assert_array_equal(mirrored[2], plain[2][:, ::-1, ::-1])

    @pytest.mark.parametrize("shape", [(1, 1), (1, 37), (29, 1), (2, 2), (5, 3)])
    @pytest.mark.parametrize("value", [0, 255, None])
    def test_degenerate_images(self, shape, value):
        rng = np.random.default_rng(26)
        images = (rng.integers(0, 256, (3, *shape, 3)) if value is None else np.full((3, *shape, 3), value))
        images = images.astype(np.uint8)
        for mode in ("seed", "central"):
            out, boxes, gout, gboxes = on_both(images, size=4, mode=mode, angles=[0, 30, 90])
            assert torch.equal(gboxes, boxes)
            assert_same_pixels(out, gout)

    def test_bad_input_raises(self):
        images = torch.zeros((2, 16, 16, 3), dtype=torch.uint8, device="cuda")
        with pytest.raises(ValueError, match="outside"):
            ops.crop_resize(images, torch.tensor([[0, 0, 17, 8], [0, 0, 4, 4]], device="cuda"), 8)
        with pytest.raises(TypeError):
            ops.find_roi(images.float())
        with pytest.raises(ValueError):
            ops.find_roi(images[:, :, :, :2])
        with pytest.raises(ValueError):
            ops.find_roi(images[:0])
        with pytest.raises(ValueError, match="scratch"):
            boxes = torch.empty((2, 4), dtype=torch.int32, device="cuda")
            _native_cuda.find_roi(images.data_ptr(), 2, 16, 16, 768, 48, 1, -1, 3.0, 0.1, boxes.data_ptr(),
                                  boxes.data_ptr(), 16, torch.cuda.current_stream().cuda_stream)
        host = np.zeros((2, 16, 16, 3), np.uint8)
        with pytest.raises(ValueError, match="device memory"):
            scratch = torch.empty(_native_cuda.scratch_bytes_find_roi(2, 16, 16), dtype=torch.uint8, device="cuda")
            _native_cuda.find_roi(host.ctypes.data, 2, 16, 16, 768, 48, 1, -1, 3.0, 0.1, boxes.data_ptr(),
                                  scratch.data_ptr(), scratch.numel(), torch.cuda.current_stream().cuda_stream)
        torch.cuda.synchronize()  # nothing above left the device in an error state

    def test_runs_on_the_current_stream_without_synchronising(self):
        rng = np.random.default_rng(27)
        host = np.stack([sky(rng, 200, 200, 2) for _ in range(64)])
        flips = rng.integers(0, 4, 64)
        want, want_boxes = ops.preprocess(host, 32, flips=flips, return_boxes=True)
        uploaded, gflips = torch.from_numpy(host).cuda(), torch.from_numpy(flips).cuda()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            # Written by a kernel on the side stream right before use: correct results need
            # the ops to be ordered on this stream, not on the default one.
            images = uploaded.clone()
            torch.cuda.set_sync_debug_mode("error")
            try:
                out, boxes = ops.preprocess(images, 32, flips=gflips, return_boxes=True)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        side.synchronize()
        assert torch.equal(boxes.cpu(), want_boxes)
        assert_same_pixels(want, out.cpu())

    def test_captures_into_a_cuda_graph(self):
        """Graph capture fails on any synchronisation, allocation outside torch or launch on
        another stream, so a successful replay shows the ops are launch-only."""
        rng = np.random.default_rng(28)
        host = np.stack([sky(rng, 120, 120, 2) for _ in range(8)])
        images = torch.from_numpy(host).cuda()
        flips = torch.tensor([0, 1, 2, 3] * 2, device="cuda")
        warm = torch.cuda.Stream()
        warm.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(warm):
            ops.preprocess(images, 32, flips=flips)
        torch.cuda.current_stream().wait_stream(warm)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = ops.preprocess(images, 32, flips=flips)
        images.copy_(torch.from_numpy(host[::-1].copy()).cuda())
        graph.replay()
        torch.cuda.synchronize()
        assert_same_pixels(ops.preprocess(host[::-1].copy(), 32, flips=[0, 1, 2, 3] * 2), out.cpu())

    def test_batches_beyond_the_grid_z_limit(self):
        rng = np.random.default_rng(29)
        host = speckle(rng, 70_000, 3, 4, 0.5)  # more images than gridDim.z allows (65535)
        want_out, want_boxes = ops.preprocess(host, 2, mode="seed", threshold=20, return_boxes=True)
        out, boxes = ops.preprocess(torch.from_numpy(host).cuda(), 2, mode="seed", threshold=20, return_boxes=True)
        assert torch.equal(boxes.cpu(), want_boxes)
        assert_same_pixels(want_out, out.cpu())

    @pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
    def test_tensors_on_a_second_device(self):
        rng = np.random.default_rng(30)
        host = np.stack([sky(rng, 64, 64, 2) for _ in range(4)])
        want = ops.preprocess(host, 16)
        with torch.cuda.device(0):
            got = ops.preprocess(torch.from_numpy(host).to("cuda:1"), 16)
        assert got.device == torch.device("cuda:1")
        assert_same_pixels(want, got.cpu())
