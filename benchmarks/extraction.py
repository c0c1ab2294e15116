"""Extraction throughput against the raw forward pass, and the grid cache, in one run.

    python benchmarks/extraction.py [--device cuda] [--rows N]

Model: disentanglement_lib's 64x64 conv encoder (``disbench.models.conv.ConvEncoder``,
4 conv layers, 2 dense), TorchScript, random weights. Data: the 46,080-image dSprites grid of
``../shared/data/dsprites``.

1. Raw forward pass: the model alone on batches already in device memory, at every batch
   size of the probe; the best images/s is the reference.
2. Pipeline: ``extract`` over every row of the grid, no cache, at the batch size the probe
   picks: reading, conversion, copies, bookkeeping included. Target: >= 0.9 of (1).
3. dlib-style loop: batches of 64 read and encoded one after the other (for scale).
4. Cache: time to the codes of an evaluation's rows (10,000 + 5,000) when the grid is first
   encoded into an empty cache, then again from the cache. Target: second >= 20x faster.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from disbench.adapters import load_encoder
from disbench.benchmark.datasets import load_dataset
from disbench.benchmark.extraction import PROBE_BATCH_SIZES, extract, probe_batch_size
from disbench.models.conv import ConvEncoder

GRID = Path(__file__).resolve().parents[2] / "shared/data/dsprites/dsprites_grid_3x6x10x16x16.npz"


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def raw_rates(
    model: torch.jit.ScriptModule,
    device: torch.device,
    rows: int,
    sizes: tuple[int, ...] = PROBE_BATCH_SIZES,
) -> dict[int, float]:
    """Images/s of the bare model per batch size over ``rows`` images already on the device."""
    rates = {}
    for size in sizes:
        batch = torch.rand(size, 1, 64, 64, device=device)
        with torch.inference_mode():
            model(batch)
            if device.type == "cuda":
                torch.cuda.synchronize()
            calls = max(1, rows // size)
            start = time.perf_counter()
            for _ in range(calls):
                model(batch)
            if device.type == "cuda":
                torch.cuda.synchronize()
        rates[size] = calls * size / (time.perf_counter() - start)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--grid", type=Path, default=GRID)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.grid.is_file():
        sys.exit(f"the dSprites grid is not at {args.grid}; pass --grid")
    device = torch.device(args.device)
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="disbench-bench-"))
    os.environ["DISBENCH_CACHE"] = str(work / "cache")
    model_path = work / "conv_encoder.pt"
    torch.jit.script(ConvEncoder(channels=1, latents=10).eval()).save(str(model_path))

    dataset = load_dataset(args.grid)
    n = len(dataset)
    encoder = load_encoder(str(model_path), device=str(device))
    print(f"device {device}, torch threads {torch.get_num_threads()}, grid {n:,} images")

    rates = raw_rates(torch.jit.load(str(model_path), map_location=device), device, n)
    best_size = max(rates, key=rates.get)
    print("raw forward pass, images/s by batch size:")
    print("  " + ", ".join(f"{size}: {rate:,.0f}" for size, rate in rates.items()))

    probed, probe_seconds = timed(probe_batch_size, encoder, dataset.observation_shape)
    indices = np.arange(n)
    # The raw pass and the pipeline alternate, so that a change in the machine's load
    # affects both sides of a ratio alike; the median ratio is reported.
    raw_model = torch.jit.load(str(model_path), map_location=device)
    ratios, pipeline_rates = [], []
    for _ in range(args.rounds):
        raw = raw_rates(raw_model, device, n, sizes=(best_size,))[best_size]
        _, seconds = timed(extract, encoder, dataset, indices=indices, cache=False, progress=False)
        pipeline_rates.append(n / seconds)
        ratios.append(n / seconds / raw)
    pipeline_rate = float(np.median(pipeline_rates))

    def dlib_loop() -> None:
        for start in range(0, n, 64):
            batch = torch.from_numpy(dataset.observations_at(indices[start : start + 64]))
            encoder.encode(batch.to(device))

    _, loop_seconds = timed(dlib_loop)

    rng = np.random.default_rng(0)
    plan = dataset.sample_indices(15_000, rng)
    _, first = timed(extract, encoder, dataset, indices=plan, progress=False)
    _, second = timed(extract, encoder, dataset, indices=plan, progress=False)

    print(f"best raw batch size {best_size}: {rates[best_size]:,.0f} images/s")
    print(f"probe picked {probed} in {probe_seconds:.2f} s")
    print(
        f"pipeline (extract, whole grid, no cache): {pipeline_rate:,.0f} images/s, "
        f"{np.median(ratios):.2f} of the raw forward pass at its best batch size "
        f"(median of {args.rounds} alternating rounds, range {min(ratios):.2f}-{max(ratios):.2f}; "
        "target >= 0.9)"
    )
    print(f"dlib-style loop, batches of 64 in sequence: {n / loop_seconds:,.0f} images/s")
    print(
        f"15,000 rows of an evaluation: first (encodes the grid into the cache) {first:.2f} s, "
        f"second (from the cache) {second * 1e3:.1f} ms: {first / second:,.0f}x (target >= 20x)"
    )


if __name__ == "__main__":
    main()
