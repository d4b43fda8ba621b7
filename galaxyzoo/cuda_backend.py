"""Whether the CUDA backend can run here: the module, the driver against the runtime it was
built with, the device count, the compute capability and whether this build's kernels load.
Checked once per device; :mod:`galaxyzoo.ops` falls back to the CPU with one warning when not."""
from __future__ import annotations

from typing import Any

import torch

MIN_CAPABILITY = (8, 0)  # the build targets sm_80 and newer (CMakeLists.txt)
_DEVICE_REASONS: dict[int, str | None] = {}


def cuda_unavailable_reason(device=None) -> str | None:
    """Why CUDA tensors (on ``device``, default the current one) cannot be preprocessed by the
    CUDA backend here, or None when they can: the module, the driver against the runtime it
    was built with, the device count, the compute capability and whether the kernels load."""
    try:
        from . import _native_cuda
    except ImportError as exc:
        return f"galaxyzoo was built without its CUDA backend (no nvcc at build time): {exc}"
    if not hasattr(_native_cuda, "crop_resize"):
        return "the CUDA backend of this build has no preprocessing kernels"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    index = _device_index(device)
    if not isinstance(index, int):
        index = torch.cuda.current_device()
    if index not in _DEVICE_REASONS:
        _DEVICE_REASONS[index] = _device_reason(_native_cuda, index)
    return _DEVICE_REASONS[index]


def _device_reason(cuda, index: int) -> str | None:
    """The checks behind :func:`cuda_unavailable_reason` for one device (run once, cached)."""
    runtime = getattr(cuda, "runtime_version", lambda: 0)()
    driver = getattr(cuda, "driver_version", lambda: 0)()

    def version(v: int) -> str:
        return f"{v // 1000}.{v % 1000 // 10}"

    if cuda.device_count() == 0:
        if driver and runtime and driver < runtime:
            return (f"the CUDA driver supports CUDA {version(driver)}, older than the CUDA {version(runtime)} "
                    "runtime galaxyzoo was built with (update the driver or rebuild with an older toolkit)")
        return "galaxyzoo's CUDA runtime sees no device (driver missing or unusable)"
    if index >= cuda.device_count():
        return f"cuda:{index} is not visible to galaxyzoo's CUDA runtime ({cuda.device_count()} devices)"
    if not hasattr(cuda, "device_capability"):
        return None
    built = getattr(cuda, "BUILT_ARCHITECTURES", "?")
    cap = cuda.device_capability(index)
    if not cap:
        return f"cannot query the compute capability of cuda:{index}"
    major, minor = (int(x) for x in cap.split("."))
    if (major, minor) < MIN_CAPABILITY:
        return (f"cuda:{index} has compute capability {cap}; galaxyzoo's kernels need "
                f"{MIN_CAPABILITY[0]}.{MIN_CAPABILITY[1]} or newer (built for {built})")
    error = cuda.kernel_image_error(index)
    if error:
        return f"no kernel of this build loads on cuda:{index} (capability {cap}, built for {built}): {error}"
    return None


def cuda_available(device=None) -> bool:
    """Whether :func:`preprocess` runs CUDA tensors on the CUDA backend (see
    :func:`cuda_unavailable_reason`)."""
    return cuda_unavailable_reason(device) is None


def _device_index(device) -> Any:
    if device is None:
        return torch.cuda.current_device() if torch.cuda.is_available() else None
    device = torch.device("cuda", device) if isinstance(device, int) else torch.device(device)
    if device.type == "cuda":
        return device.index if device.index is not None else torch.cuda.current_device()
    return str(device)
