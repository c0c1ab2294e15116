"""The README's comparison: a real 3D Shapes VAE against an oracle and a null model.

Reads ``../shared/data/shapes3d_codes`` (the codes of a 10-latent VAE on 3D Shapes, with
their factor classes), writes four precomputed-code files — the VAE's means, its samples,
the factors themselves plus noise (an oracle that should score about 1) and the means with
their rows shuffled against the factors (a null model that should score about 0) — then
evaluates each with three seeds into a store and writes the table and figures::

    python scripts/readme_comparison.py OUT_DIR
    disbench compare --store OUT_DIR/store --format markdown --plot OUT_DIR/plots
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

from disbench import evaluate, load_codes
from disbench.benchmark.suites import load_suite

METRICS = ["mig", "sap", "dci", "modularity_explicitness", "jemmig", "infomec"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data" / "shapes3d_codes"
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("DATA", default_data)))
    args = parser.parse_args()

    codes = np.load(args.data / "representations.npz")
    table = pd.read_csv(args.data / "classes.csv")
    factors = table.to_numpy(np.int64)
    rng = np.random.default_rng(0)
    oracle = factors / np.maximum(factors.max(axis=0), 1) + rng.normal(0, 0.01, factors.shape)
    models = {
        "vae_mean": codes["mean"],
        "vae_sampled": codes["sampled"],
        "oracle": oracle,
        "null": codes["mean"][rng.permutation(len(factors))],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    # DCI with the histogram GBT (dci.predictor), for speed on 10,000 rows.
    suite = load_suite(bindings=['dci.predictor = "hist_gbt"'], name="readme")
    for name, values in models.items():
        path = args.out / f"{name}.npz"
        np.savez(
            path,
            codes=values,
            factors=factors,
            factor_names=list(table.columns),
            dataset="shapes3d_vae_sample",
        )
        for seed in range(args.seeds):
            evaluate(
                load_codes(path),
                metrics=METRICS,
                suite=suite,
                seed=seed,
                store=args.out / "store",
                sample_sizes={"num_train": 10_000, "num_test": 5_000},
            )
            print(f"{name} seed {seed}: stored")


if __name__ == "__main__":
    main()
