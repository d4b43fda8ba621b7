"""nvJPEG's stand-in for the GPU paths' tests on machines without a GPU."""
from __future__ import annotations

import io
import threading

import numpy as np
import torch
from PIL import Image


class PillowDecoder:
    """torchvision's decode_jpeg contract on the CPU (3×H×W uint8 per file; one bad file fails
    the call, as nvJPEG's batch does): a full-scale libjpeg decode, which nvJPEG matches to a
    grey level or two. Records how many files each call got, and from which threads."""

    def __init__(self):
        self.calls: list[int] = []
        self.threads: set[str] = set()  # names of the threads that called it

    def __call__(self, datas: list, device: str) -> list:
        self.calls.append(len(datas))
        self.threads.add(threading.current_thread().name)
        outs = []
        for data in datas:
            image = Image.open(io.BytesIO(data.numpy().tobytes()))
            image.load()
            outs.append(torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).to(device))
        return outs
