"""The whole first device check of the CUDA backend (issue 13), as one script: `make gpu-check`.

    python3 benchmarks/gpu_check.py            # everything, then one table (target: < 8 min)
    python3 benchmarks/gpu_check.py --skip-build --only parity,syncs
    python3 benchmarks/gpu_check.py --list     # the steps

Steps (each in its own subprocess with a time limit, so one failure or hang does not hide the
rest; the table is printed last and written to $OUT/gpu_check.json when OUT is set):
  build      pip install -e . for the device's architecture only (CMAKE_CUDA_ARCHITECTURES=<cc>-real)
  pytest     the GPU tests (-m gpu) of every file that has any, collectable without simplejpeg
  parity     1,024 full-size 424x424 images: boxes equal the CPU's, pixels within 1e-4 (float32)
             and equal (uint8), two GPU runs bit-identical
  syncs      host syncs per call under torch.cuda.set_sync_debug_mode("error"): device-side
             angles/flips/boxes, mode=None, host-side angles (pinned upload)
  graph      CUDA-graph capture of preprocess with angles and flips, replayed on new inputs
  offsets    a batch whose byte offsets pass 2^31 (4,000 424 px images, 2.16 GB)
  speed      images/s at batch 256 and 1024 vs the memory-bandwidth floor (measured copy) and vs
             torchvision roi_align + rotate and affine_grid/grid_sample doing the same job
  ingest     `ingest --device cuda` against the CPU ingest on every core, 8,192 JPEG files end to
             end (goal 10x), rows compared; needs simplejpeg there (`make gpu-wheels`, carry .whl)
  sanitize   compute-sanitizer memcheck, initcheck and synccheck over tests/cuda_sanitize.py
Without a CUDA device every step but build reports "skipped" and the script exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ["build", "pytest", "parity", "syncs", "graph", "offsets", "speed", "ingest", "sanitize"]
LIMITS = {"build": 240, "pytest": 180, "parity": 90, "syncs": 60, "graph": 60, "offsets": 120, "speed": 120,
          "ingest": 150, "sanitize": 240}


def gpu_test_files() -> list[str]:
    """Repository-relative test files that hold GPU tests (pytest.mark.gpu), so that files with
    none (some import simplejpeg, absent on the device image) are never collected."""
    files = sorted((REPO / "tests").glob("test_*.py")) + [REPO / "benchmarks" / "bench_cuda.py"]
    return [str(p.relative_to(REPO)) for p in files if "mark.gpu" in p.read_text()]


# --- steps (run in a subprocess: python3 gpu_check.py --step NAME) --------------------------

def step_build() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"status": "skipped", "detail": "no CUDA device"}
    major, minor = torch.cuda.get_device_capability()
    arch = f"{major}{minor}-real"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "-e", ".",
           f"-Ccmake.define.CMAKE_CUDA_ARCHITECTURES={arch}"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        return {"status": "FAIL", "detail": (done.stdout + done.stderr)[-1500:]}
    probe = subprocess.run([sys.executable, "-c", "from galaxyzoo import _native_cuda as m, ops; "
                            "print(m.BUILT_ARCHITECTURES, ops.cuda_unavailable_reason())"],
                           capture_output=True, text=True)
    ok = probe.returncode == 0 and probe.stdout.strip().endswith("None")
    return {"status": "ok" if ok else "FAIL", "detail": f"arch {arch}: {probe.stdout.strip()} {probe.stderr[-300:]}"}


def step_pytest() -> dict:
    files = gpu_test_files()
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", *files]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    tail = done.stdout.strip().splitlines()[-1:] or [done.stderr[-300:]]
    return {"status": "ok" if done.returncode == 0 else "FAIL", "detail": f"{len(files)} files: {tail[0]}",
            "log": done.stdout[-6000:]}


def _need_cuda():
    import torch

    from galaxyzoo import ops

    if not ops.cuda_available():
        raise SkipStep(f"no CUDA preprocessing ({ops.cuda_unavailable_reason()})")
    return torch, ops


class SkipStep(Exception):
    pass


def full_size_images(n: int, seed: int = 0):
    """n 424x424 RGB images: gz2_sample decoded with OpenCV when present, else synthetic skies."""
    import numpy as np

    sample = REPO.parent / "shared" / "data" / "gz2_sample" / "images"
    paths = sorted(sample.glob("*.jpg"))[:n] if sample.is_dir() else []
    if paths:
        import cv2

        imgs = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
        imgs = [i for i in imgs if i.shape == (424, 424, 3)]
        if imgs:
            return np.stack([imgs[i % len(imgs)] for i in range(n)])
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:424, :424].astype(np.float32)
    out = np.empty((n, 424, 424, 3), np.uint8)
    for i in range(n):
        img = rng.normal(8, 3, (424, 424, 1)).astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx, r = rng.uniform(60, 364), rng.uniform(60, 364), rng.uniform(8, 60)
            img += rng.uniform(60, 220) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r**2)[..., None]
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def step_parity() -> dict:
    torch, ops = _need_cuda()
    import numpy as np

    host = full_size_images(1024)
    rng = np.random.default_rng(1)
    angles, flips = rng.uniform(0, 360, len(host)), rng.integers(0, 4, len(host))
    details, ok = [], True
    for out_dtype in ("float32", "uint8"):
        want, want_boxes = ops.preprocess(host, 64, angles=angles, flips=flips, out_dtype=out_dtype,
                                          return_boxes=True)
        images = torch.from_numpy(host).cuda()
        runs = [ops.preprocess(images, 64, angles=torch.from_numpy(angles).cuda(), flips=torch.from_numpy(flips).cuda(),
                               out_dtype=out_dtype, return_boxes=True) for _ in range(2)]
        torch.cuda.synchronize()
        got, boxes = runs[0][0].cpu(), runs[0][1].cpu()
        same_boxes = torch.equal(boxes, want_boxes)
        diff = (got.double() - want.double()).abs().max().item()
        exact = torch.equal(got, want)
        deterministic = torch.equal(runs[1][0].cpu(), got) and torch.equal(runs[1][1].cpu(), boxes)
        tol = 0 if out_dtype == "uint8" else 1e-4
        ok &= same_boxes and diff <= tol and deterministic
        details.append(f"{out_dtype}: boxes {'equal' if same_boxes else 'DIFFER'}, max |diff| {diff:.1e}"
                       f"{' (bit-identical)' if exact else ''}, 2 runs {'identical' if deterministic else 'DIFFER'}")
    return {"status": "ok" if ok else "FAIL", "detail": "; ".join(details)}


def step_syncs() -> dict:
    torch, ops = _need_cuda()
    import numpy as np

    rng = np.random.default_rng(2)
    host = full_size_images(64, seed=2)
    images = torch.from_numpy(host).cuda()
    dev = dict(angles=torch.from_numpy(rng.uniform(0, 360, 64)).cuda(), flips=torch.from_numpy(rng.integers(0, 4, 64)).cuda())
    boxes = ops.find_roi(images)
    cases = {
        "device angles+flips": lambda: ops.preprocess(images, 64, **dev),
        "given device boxes": lambda: ops.preprocess(images, 64, boxes=boxes, **dev),
        "mode=None": lambda: ops.preprocess(images, 64, mode=None, **dev),
        "find_roi": lambda: ops.find_roi(images),
        "host angles (pinned)": lambda: ops.preprocess(images, 64, angles=rng.uniform(0, 360, 64).tolist()),
    }
    for fn in cases.values():  # warm: allocator, module load, pinned pool
        fn()
    torch.cuda.synchronize()
    failures = []
    for name, fn in cases.items():
        torch.cuda.set_sync_debug_mode("error")
        try:
            fn()
        except RuntimeError as exc:
            failures.append(f"{name}: {str(exc).splitlines()[0]}")
        finally:
            torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    ops.check_cuda_inputs()
    return {"status": "FAIL" if failures else "ok",
            "detail": "; ".join(failures) or f"0 host syncs per call in {len(cases)} call kinds"}


def step_graph() -> dict:
    torch, ops = _need_cuda()
    import numpy as np

    rng = np.random.default_rng(3)
    host = full_size_images(32, seed=3)
    images = torch.from_numpy(host).cuda()
    angles = torch.from_numpy(rng.uniform(0, 360, 32)).cuda()
    flips = torch.from_numpy(rng.integers(0, 4, 32)).cuda()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        ops.preprocess(images, 64, angles=angles, flips=flips)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out, boxes = ops.preprocess(images, 64, angles=angles, flips=flips, return_boxes=True)
    new_host, new_angles = host[::-1].copy(), rng.uniform(0, 360, 32)
    images.copy_(torch.from_numpy(new_host))
    angles.copy_(torch.from_numpy(new_angles))
    graph.replay()
    torch.cuda.synchronize()
    want, want_boxes = ops.preprocess(new_host, 64, angles=new_angles, flips=flips.cpu(), return_boxes=True)
    diff = (out.cpu().double() - want.double()).abs().max().item()
    ok = torch.equal(boxes.cpu(), want_boxes) and diff <= 1e-4
    return {"status": "ok" if ok else "FAIL", "detail": f"replay on new images+angles: max |diff| {diff:.1e}"}


def step_offsets() -> dict:
    torch, ops = _need_cuda()
    import numpy as np

    host = full_size_images(8, seed=4)
    n = 4000  # 4000 * 539,328 bytes = 2.16e9 > 2^31
    idx = np.arange(n) % len(host)
    images = torch.from_numpy(host).cuda()[torch.from_numpy(idx).cuda()]
    assert images.stride(0) * (n - 1) > 2**31
    angles = torch.full((n,), 33.0, device="cuda", dtype=torch.float64)
    out, boxes = ops.preprocess(images, 64, angles=angles, return_boxes=True)
    want, want_boxes = ops.preprocess(host, 64, angles=[33.0] * len(host), return_boxes=True)
    tail = torch.from_numpy(idx[-16:])
    same_boxes = torch.equal(boxes[-16:].cpu(), want_boxes[tail])
    diff = (out[-16:].cpu().double() - want[tail].double()).abs().max().item()
    ok = same_boxes and diff <= 1e-4
    return {"status": "ok" if ok else "FAIL",
            "detail": f"{n} images, last offset {images.stride(0) * (n - 1) / 2**31:.2f} x 2^31: boxes "
                      f"{'equal' if same_boxes else 'DIFFER'}, max |diff| {diff:.1e}"}


def step_speed() -> dict:
    torch, ops = _need_cuda()
    import math

    import numpy as np
    import torch.nn.functional as F
    from bench_cuda import device_ms  # this script's folder is on sys.path (run as a file)

    rows = []
    copy_src = torch.empty(2 << 30, dtype=torch.uint8, device="cuda")
    copy_dst = torch.empty_like(copy_src)
    copy_ms = device_ms(lambda: copy_dst.copy_(copy_src), 10)
    bandwidth = 2 * copy_src.numel() / (copy_ms / 1e3)  # bytes read + written per second
    del copy_src, copy_dst
    try:
        import torchvision
        from torchvision.ops import roi_align
        from torchvision.transforms.v2 import functional as TF
    except ImportError:
        torchvision = None
    host = full_size_images(1024, seed=5)
    rng = np.random.default_rng(5)
    for batch in (256, 1024):
        images = torch.from_numpy(host[:batch]).cuda()
        angles = torch.from_numpy(rng.uniform(0, 360, batch)).cuda()
        boxes = ops.find_roi(images)
        fused = device_ms(lambda: ops.preprocess(images, 64, angles=angles))
        cached = device_ms(lambda: ops.crop_resize(images, boxes, 64, angles=angles))
        floor_ms = batch * 424 * 424 * 3 / bandwidth * 1e3  # every image read once
        row = {"batch": batch, "fused img/s": batch / fused * 1e3, "fused x floor": fused / floor_ms,
               "crop img/s": batch / cached * 1e3}
        # The same job with torch/torchvision: float NCHW, crop + resize + rotate by one
        # affine grid_sample (bilinear), and roi_align + rotate (two passes).
        theta = _affine(torch, boxes, angles)

        def grid_sample_job():
            x = images.permute(0, 3, 1, 2).float()
            grid = F.affine_grid(theta, (batch, 3, 64, 64), align_corners=False)
            return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

        row["grid_sample img/s"] = batch / device_ms(grid_sample_job) * 1e3
        if torchvision is not None:
            rois = torch.cat([torch.arange(batch, device="cuda")[:, None].float(), boxes.float()], 1)

            def roi_align_job():
                x = images.permute(0, 3, 1, 2).float()
                crops = roi_align(x, rois, (64, 64), sampling_ratio=2, aligned=True)
                return [TF.rotate(crops[i:i + 1], float(a)) for i, a in enumerate(angles_host)]

            angles_host = angles.cpu().tolist()  # torchvision's rotate takes host angles (per image)
            row["roi_align+rotate img/s"] = batch / device_ms(roi_align_job, 5) * 1e3
        rows.append(row)
        del images
    detail = f"copy {bandwidth / 1e12:.2f} TB/s; " + "; ".join(
        ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()) for r in rows)
    del math
    return {"status": "ok", "detail": detail, "rows": rows}


def _affine(torch, boxes, angles):
    """affine_grid thetas mapping the output square to the rotated box (normalised coords)."""
    b = boxes.double()
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    rad = torch.deg2rad(angles)
    c, s = torch.cos(rad), torch.sin(rad)
    sx, sy = bw / 424, bh / 424
    theta = torch.stack([torch.stack([c * sx, -s * sx, cx / 212 - 1], 1),
                         torch.stack([s * sy, c * sy, cy / 212 - 1], 1)], 1)
    return theta.float()


INGEST_FILES = 8192


def step_ingest() -> dict:
    """`galaxyzoo ingest --device cuda` against the CPU ingest on every core, end to end from
    JPEG files: (n - n/8) / (t(n) - t(n/8)), so start-up is left out; the rows must agree."""
    _need_cuda()
    try:
        import simplejpeg  # noqa: F401 (the CPU path's decoder)
    except ImportError:
        raise SkipStep("the CPU ingest to compare with needs simplejpeg: run `make gpu-wheels` here and "
                       "carry .whl (make gpu-check installs it)") from None
    import itertools
    import tempfile

    import cv2

    from galaxyzoo.data.gpu_decode import gpu_decode_available
    from galaxyzoo.data.inputs import walk_images
    from galaxyzoo.data.tables import read_table
    from galaxyzoo.workflows.ingest import IngestOptions, ingest

    ok, why = gpu_decode_available()
    if not ok:
        raise SkipStep(why)
    n, cores = INGEST_FILES, len(os.sched_getaffinity(0))
    blobs = [cv2.imencode(".jpg", im[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
             for im in full_size_images(1024, seed=9)]
    rates, manifests = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for i in range(n):
            (src / f"{i:05d}.jpg").write_bytes(blobs[i % len(blobs)])
        for device in ("cpu", "cuda"):
            seconds = []
            for count in (n // 8, n):
                out = Path(tmp, f"{device}-{count}")
                t0 = time.perf_counter()
                ingest(itertools.islice(walk_images(src), count), out, IngestOptions(size=64, device=device),
                       workers=cores if device == "cpu" else None, progress=False)
                seconds.append(time.perf_counter() - t0)
            rates[device] = (n - n // 8) / (seconds[1] - seconds[0])
            manifests[device] = read_table(Path(tmp, f"{device}-{n}", "manifest.csv"))
    cpu, gpu = manifests["cpu"], manifests["cuda"]
    same = ["id", "path", "status", "error", "height", "width"]
    rows_agree = len(cpu) == len(gpu) == n and cpu[same].equals(gpu[same])
    ratio = rates["cuda"] / rates["cpu"]
    detail = (f"{n} 424-px JPEGs, 64-px crops: CPU ingest ({cores} workers) {rates['cpu']:.0f} img/s, "
              f"GPU ingest {rates['cuda']:.0f} img/s, x{ratio:.1f} (goal 10x); rows "
              f"{'agree' if rows_agree else 'DIFFER'} (ids, statuses, sizes)")
    return {"status": "ok" if rows_agree else "FAIL", "detail": detail, "rows": [rates]}


def step_sanitize() -> dict:
    _need_cuda()
    san = shutil.which("compute-sanitizer") or next(
        (p for p in ("/usr/local/cuda/bin/compute-sanitizer",) if os.path.exists(p)), None)
    if san is None:
        return {"status": "skipped", "detail": "compute-sanitizer not found"}
    results, ok = [], True
    for tool in ("memcheck", "initcheck", "synccheck"):
        done = subprocess.run([san, "--tool", tool, "--error-exitcode", "1", sys.executable,
                               str(REPO / "tests" / "cuda_sanitize.py")], cwd=REPO, capture_output=True, text=True,
                              timeout=75)
        ok &= done.returncode == 0
        summary = [line for line in done.stdout.splitlines() if "ERROR SUMMARY" in line]
        results.append(f"{tool}: {'ok' if done.returncode == 0 else 'FAIL'} {summary[-1] if summary else ''}".strip())
    return {"status": "ok" if ok else "FAIL", "detail": "; ".join(results)}


# --- driver --------------------------------------------------------------------------------

def run_step(name: str) -> dict:
    try:
        return globals()[f"step_{name}"]()
    except SkipStep as exc:
        return {"status": "skipped", "detail": str(exc)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--only", help=f"comma-separated steps (default all: {','.join(STEPS)})")
    parser.add_argument("--skip-build", action="store_true", help="use the extension already installed")
    parser.add_argument("--list", action="store_true", help="list the steps and their time limits")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list:
        for s in STEPS:
            print(f"{s:9s} {LIMITS[s]:4d} s")
        return 0
    if args.step:
        print("GPU_CHECK_RESULT " + json.dumps(run_step(args.step)))
        return 0
    steps = args.only.split(",") if args.only else list(STEPS)
    if args.skip_build and "build" in steps:
        steps.remove("build")
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {sorted(unknown)}")
    results = []
    t_all = time.time()
    for name in steps:
        t0 = time.time()
        try:
            done = subprocess.run([sys.executable, __file__, "--step", name], cwd=REPO, capture_output=True, text=True,
                                  timeout=LIMITS[name], env=dict(os.environ, PYTHONUNBUFFERED="1"))
            line = [x for x in done.stdout.splitlines() if x.startswith("GPU_CHECK_RESULT ")]
            result = json.loads(line[-1][17:]) if line else {
                "status": "FAIL", "detail": f"exit {done.returncode}: {(done.stdout + done.stderr)[-800:]}"}
        except subprocess.TimeoutExpired:
            result = {"status": "FAIL", "detail": f"timed out after {LIMITS[name]} s"}
        result.update(step=name, seconds=round(time.time() - t0, 1))
        results.append(result)
        print(f"[gpu-check] {name}: {result['status']} ({result['seconds']} s)", flush=True)
        if result.get("log"):
            print(result["log"])
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(json.dumps(results, indent=1))
    print(f"\n| step | status | s | detail |  (total {time.time() - t_all:.0f} s)\n|---|---|---|---|")
    for r in results:
        print(f"| {r['step']} | {r['status']} | {r['seconds']} | {r['detail'].replace(chr(10), ' ')[:600]} |")
    return 1 if any(r["status"] == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
