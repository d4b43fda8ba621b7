"""ConvNeXt vs resnet_small: CPU training-step throughput (forward, backward, AdamW step).

    python benchmarks/bench_convnext.py --threads 2 --batch 64 --sizes 64 96

Every model (in each memory format) is built once; then single training steps are timed in
turn, round after round, so load changes on a shared machine hit all of them alike. Reported:
images/s of the fastest step (the least disturbed one, as ``timeit`` does), of the median step,
and per CPU second of this process (median; less sensitive to other processes' load), each
with its ratio to the first model in the first format.
"""
from __future__ import annotations

import argparse
import ast
import statistics
import time

import torch

import galaxyzoo

FORMATS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


def make_step(name: str, options: dict, size: int, batch: int, memory):
    model = galaxyzoo.create_model(name, num_outputs=37, input_size=size, **options)
    model = model.to(memory_format=memory).train()
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=memory)
    y = torch.rand(batch, 37)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        return time.perf_counter() - start, time.process_time() - cpu

    step()  # warm-up: allocations, oneDNN primitive caches
    return step, sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["resnet_small", "convnext_cpu"],
                        help="registered model names, or NAME:key=value;key=value for options")
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 96])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="timed steps per model and format")
    parser.add_argument("--formats", nargs="+", choices=sorted(FORMATS),
                        default=["channels_last", "contiguous"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for size in args.sizes:
        torch.manual_seed(0)
        steps, params, times = {}, {}, {}
        for spec in args.models:
            name, _, opts = spec.partition(":")
            options = {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in opts.split(";") if kv)}
            for fmt in args.formats:
                steps[spec, fmt], params[spec] = make_step(name, options, size, args.batch, FORMATS[fmt])
                times[spec, fmt] = []
        for _ in range(args.rounds):
            for key, step in steps.items():
                times[key].append(step())
        base = next(iter(times))
        best = {k: args.batch / min(w for w, _ in t) for k, t in times.items()}
        median = {k: args.batch / statistics.median(w for w, _ in t) for k, t in times.items()}
        cpu = {k: args.batch / statistics.median(c for _, c in t) for k, t in times.items()}
        for spec, fmt in times:
            key = spec, fmt
            print(f"{size:3d}px {spec:48s} {fmt:13s} {params[spec] / 1e6:5.2f} M  best {best[key]:6.1f} img/s "
                  f"x{best[key] / best[base]:4.2f}  median {median[key]:6.1f} img/s x{median[key] / median[base]:4.2f}"
                  f"  median {cpu[key]:6.1f} img/CPU-s x{cpu[key] / cpu[base]:4.2f}", flush=True)


if __name__ == "__main__":
    main()
