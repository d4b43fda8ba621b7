"""How ``predict`` gets its batches of images: where files are decoded (:func:`choose_loader`:
the host, or the GPU the model runs on) and reading ahead of the model (:func:`read_ahead`)."""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, TypeVar

import numpy as np
import torch

from ..data.decode import load_batch
from ..data.gpu_decode import gpu_decode_available
from ..data.gpu_load import load_batch_gpu
from ..errors import UserError

# (paths, size, num_threads=) -> (N×size×size×3 uint8 images, [(index, DecodeError)]): load_batch's contract.
Loader = Callable[..., tuple[np.ndarray | torch.Tensor, list]]
DECODE_CHOICES = ("auto", "cpu", "gpu")
T = TypeVar("T")


def choose_loader(decode: str, device: torch.device) -> Loader:
    """How files are decoded: ``"cpu"``: on the host (:func:`~galaxyzoo.data.decode.load_batch`);
    ``"gpu"``: JPEGs on the model's CUDA device (:func:`~galaxyzoo.data.gpu_load.load_batch_gpu`,
    nvJPEG through torchvision; a UserError where that cannot run); ``"auto"``: the GPU when the
    model runs on CUDA and torchvision can decode there, else the host."""
    if decode not in DECODE_CHOICES:
        raise UserError(f"decode must be one of {', '.join(DECODE_CHOICES)}, got {decode!r}")
    if decode == "cpu":
        return load_batch
    ok, why = gpu_decode_available(str(device)) if device.type == "cuda" else (False, f"the model runs on {device}")
    if not ok:
        if decode == "gpu":
            raise UserError(f"--decode gpu: cannot decode on the GPU: {why} (--decode cpu needs no GPU)")
        return load_batch
    return functools.partial(load_batch_gpu, device=str(device))


def read_ahead(batches: Iterator[T]) -> Iterator[T]:
    """``batches``, each read and decoded in a background thread while the one before it is
    predicted (decoding releases the GIL; GPU decoding is queued on the device), so the model
    does not wait for files."""
    end = object()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(next, batches, end)
        while (batch := pending.result()) is not end:
            pending = pool.submit(next, batches, end)
            yield batch
