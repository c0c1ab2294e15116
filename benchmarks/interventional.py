"""z_diff + z_min_var at their default sizes against disentanglement_lib's batch-of-64 protocol.

    python benchmarks/interventional.py [--device cuda] [--dlib-points 100]

Model: disentanglement_lib's 64x64 conv encoder (``disbench.models.conv.ConvEncoder``),
TorchScript, random weights. Data: the 46,080-image dSprites grid of ``../shared/data``.

- disbench: ``evaluate(..., metrics=["z_diff", "z_min_var"])`` at the default sizes (about
  2.9 million observed rows): every plan is drawn first, the grid is encoded once into an
  empty code cache, and every row is a lookup. Timed end to end, cache empty.
- dlib-style: the same protocol as disentanglement_lib runs it — per point, a batch of 64
  rows rendered and encoded on its own (two batches per z_diff point, one per z_min_var
  point, plus the variance estimate in batches of 64) — on ``--dlib-points`` points of each
  metric; the time per point is scaled to the default number of points.
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
from disbench.benchmark.evaluate import evaluate
from disbench.metrics import get_metric
from disbench.models.conv import ConvEncoder

GRID = Path(__file__).resolve().parents[2] / "shared/data/dsprites/dsprites_grid_3x6x10x16x16.npz"
BATCH = 64


def dlib_seconds_per_point(encoder, dataset, points: int, rng: np.random.Generator) -> dict:
    """Seconds per point of each metric, encoding one batch of 64 at a time."""

    def encode(factors: np.ndarray) -> np.ndarray:
        images = torch.from_numpy(dataset.observations(factors)).to(encoder.device)
        return encoder.encode(images).cpu().numpy()

    k = dataset.num_factors
    start = time.perf_counter()
    for _ in range(points):  # z_diff: two batches sharing one factor
        factor = rng.integers(k)
        first, second = dataset.sample_factors(BATCH, rng), dataset.sample_factors(BATCH, rng)
        second[:, factor] = first[:, factor]
        np.mean(np.abs(encode(first) - encode(second)), axis=0)
    z_diff = (time.perf_counter() - start) / points

    start = time.perf_counter()
    for _ in range(points):  # z_min_var: one batch with one factor fixed
        factor = rng.integers(k)
        batch = dataset.sample_factors(BATCH, rng)
        batch[:, factor] = batch[0, factor]
        np.var(encode(batch), axis=0, ddof=1)
    z_min_var = (time.perf_counter() - start) / points
    start = time.perf_counter()
    for _ in range(10_000 // BATCH):  # the global variances, in batches of 64
        encode(dataset.sample_factors(BATCH, rng))
    variances = time.perf_counter() - start
    return {"z_diff": z_diff, "z_min_var": z_min_var, "variances": variances}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--grid", type=Path, default=GRID)
    parser.add_argument("--dlib-points", type=int, default=100)
    args = parser.parse_args()
    if not args.grid.is_file():
        sys.exit(f"the dSprites grid is not at {args.grid}; pass --grid")
    work = Path(tempfile.mkdtemp(prefix="disbench-bench-"))
    os.environ["DISBENCH_CACHE"] = str(work / "cache")
    torch.manual_seed(0)
    model_path = work / "conv_encoder.pt"
    torch.jit.script(ConvEncoder(channels=1, latents=10).eval()).save(str(model_path))
    encoder = load_encoder(str(model_path), device=args.device)
    dataset = load_dataset(args.grid)

    defaults = {name: get_metric(name).defaults for name in ("z_diff", "z_min_var")}
    points = {name: d["num_train"] + d["num_eval"] for name, d in defaults.items()}
    rows = 2 * BATCH * points["z_diff"] + BATCH * points["z_min_var"]
    rows += defaults["z_min_var"]["num_variance_estimate"]
    start = time.perf_counter()
    frame = evaluate(encoder, dataset, ["z_diff", "z_min_var"], seed=0, progress=False)
    ours = time.perf_counter() - start

    per_point = dlib_seconds_per_point(encoder, dataset, args.dlib_points, np.random.default_rng(0))
    dlib = (
        per_point["z_diff"] * points["z_diff"]
        + per_point["z_min_var"] * points["z_min_var"]
        + per_point["variances"]
    )
    print(
        f"device {args.device}, torch threads {torch.get_num_threads()}, {len(dataset):,}-row grid"
    )
    print(frame.to_string(index=False))
    print(f"observed rows at the default sizes: {rows:,}")
    print(f"disbench evaluate (plans, grid encoded into an empty cache, lookups): {ours:.1f} s")
    print(
        f"dlib-style, batches of 64 one at a time: {per_point['z_diff'] * 1e3:.1f} ms per z_diff "
        f"point, {per_point['z_min_var'] * 1e3:.1f} ms per z_min_var point "
        f"(measured on {args.dlib_points} points each) -> {dlib:.0f} s at the default sizes"
    )
    print(f"speed-up: {dlib / ours:.0f}x (target >= 20x)")


if __name__ == "__main__":
    main()
