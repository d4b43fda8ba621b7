"""Where a job runs: the device, and joining and leaving a ``torchrun`` process group (gloo
on the CPU, nccl on CUDA).

Leaving must free the process group for real: its backend runs C++ threads (gloo's
``pt_gloo_runloop`` workers and ``gloo_tcp_loop``) that must be joined while the interpreter
is still whole. Left running into interpreter shutdown, a worker that drops its last
reference to a finished collective (whose tensors Python owned) asks for the GIL; the
finalising interpreter ends that thread with pthread_exit, the unwinding meets a C++
destructor and std::terminate aborts the process: "terminate called without an active
exception", now and then.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

if dist.is_available():
    # Imported before any process group exists, on purpose: its functions take
    # ``group=group.WORLD`` as a default argument, evaluated at import. DistributedDataParallel
    # imports it; imported after init_process_group, those defaults would hold the default
    # group forever, and destroy_process_group could not free it (nor stop its threads).
    import torch.distributed.nn  # noqa: F401

from .errors import UserError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]`` as a torch device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {str(device)!r}; use auto, cpu or cuda[:N]") from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"unsupported device {str(device)!r}; use auto, cpu or cuda[:N]")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but no CUDA device is available")
    return device


@dataclass(frozen=True)
class DistContext:
    """This process's place in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    owns_group: bool = False  # whether :func:`join` created the process group

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_world_size() -> int:
    """WORLD_SIZE as set by ``torchrun`` (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """RANK as set by ``torchrun`` (0 when not launched by it)."""
    return int(os.environ.get("RANK", "0"))


def join(device: torch.device) -> tuple[DistContext, torch.device]:
    """Joins the process group when launched by ``torchrun`` with WORLD_SIZE > 1: gloo on the
    CPU, nccl on CUDA (one GPU per process, chosen by LOCAL_RANK). Returns this process's
    place and the device it trains on. A group the caller already created is used as is."""
    if launched_world_size() <= 1:
        return DistContext(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owns = not dist.is_initialized()
    if owns:
        if device.type == "cuda":
            dist.init_process_group(backend="nccl", device_id=device)
        else:
            dist.init_process_group(backend="gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), owns), device


def leave(ctx: DistContext, *, completed: bool) -> None:
    """Destroys the process group :func:`join` created. After a ``completed`` run every rank
    first meets at a barrier, so no rank tears its connections down while another is still
    in a collective; after a failure there is no barrier (the other ranks may be stuck in a
    different collective, and ``torchrun`` stops them when this one exits non-zero)."""
    if not ctx.owns_group or not dist.is_initialized():
        return
    try:
        if completed:
            dist.barrier()
    finally:
        dist.destroy_process_group()
        # Whatever still holds the group (a DistributedDataParallel wrapper waiting in a
        # reference cycle) lets go now, so its threads are joined here and not at exit.
        gc.collect()
