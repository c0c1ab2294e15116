"""``disbench compare`` over a store of 10,000 result records (target: under 2 s).

    python benchmarks/compare.py [--models 50] [--repeats 5] [--store DIR] [--json PATH]

The store imitates a real sweep: ``--models`` models (5 architectures, each trained with 10
settings; the models of one architecture share a name and differ by folder, so the table
labels them by path tail) × 5 data sets × 10 metrics × 4 seeds, 10,000 records at the
default 50 models. Every record is what ``disbench.results.make_record`` produces, with the
metric's registry scores, directions and default parameters, an MI or importance matrix
where the metric has one, and a suite label (``dlib``); the scores are drawn at random.

The store is written once and kept (``$TMPDIR/disbench-bench-compare-<n>``, or
``--store``). Through ``make_record`` and ``Store.write`` as they are, 10,000 records take
about 40 s: ~3.5 ms a record for the environment block (library versions looked up with
``importlib.metadata``) and ~0.6 ms for the fsync. The benchmark looks the environment up
once and writes the same JSON text without the fsync, in about 3 s.

Timed, median of ``--repeats`` runs:

- **command**: ``disbench compare --store DIR`` as a subprocess — interpreter start,
  imports, reading every file, the table printed — the figure the target is about;
- **in process**: ``load`` + ``compare`` + ``format_table`` (text), and each step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import disbench.results.record as record_module
from disbench.metrics import get_metric
from disbench.results import Store, make_record
from disbench.results.frame import load
from disbench.results.tables import compare, format_table

#: Seconds ``disbench compare`` may take over 10,000 records.
TARGET_S = 2.0
ARCHITECTURES = ("betavae", "factorvae", "betatcvae", "dipvae_i", "annealedvae")
#: Data sets and their factor sizes.
DATASETS = {
    "dsprites": (3, 6, 40, 32, 32),
    "shapes3d": (10, 10, 10, 8, 4, 15),
    "mpi3d_toy": (6, 6, 2, 3, 3, 40, 40),
    "cars3d": (4, 24, 183),
    "smallnorb": (5, 9, 18, 6),
}
METRICS = (
    "mig",
    "mig_sup",
    "jemmig",
    "dcimig",
    "modularity_explicitness",
    "sap",
    "dci",
    "irs",
    "unsupervised",
    "infomec",
)
SEEDS = (0, 1, 2, 3)
NUM_CODES = 10
#: The (codes x factors) matrix each metric stores in its record, with a per-factor vector.
ARRAYS = {
    "mig": "mi_matrix",
    "mig_sup": "mi_matrix",
    "jemmig": "mi_matrix",
    "dcimig": "mi_matrix",
    "modularity_explicitness": "mi_matrix",
    "sap": "score_matrix",
    "dci": "importance",
    "infomec": "nmi",
}
#: Bumped when the records change, so that a cached store from before is rebuilt.
STORE_VERSION = 1


def model_info(index: int) -> dict:
    """The provenance of model ``index``: ``runs/<arch>/setting_<k>/<arch>.pt``."""
    arch = ARCHITECTURES[index % len(ARCHITECTURES)]
    spec = f"/experiments/runs/{arch}/setting_{index // len(ARCHITECTURES)}/{arch}.pt"
    return {
        "spec": spec,
        "name": arch,
        "sha256": f"{index:064x}",
        "adapter": "torchscript",
        "options": {"input_layout": "nchw", "input_range": [0.0, 1.0]},
        "files": [spec],
    }


def dataset_info(name: str) -> dict:
    sizes = DATASETS[name]
    return {
        "name": name,
        "params": {},
        "factor_names": [f"factor_{k}" for k in range(len(sizes))],
        "factor_sizes": list(sizes),
        "files": [{"path": f"/data/{name}.npz", "sha256": name.encode().hex().ljust(64, "0")}],
        "fingerprint": name.encode().hex().rjust(64, "0"),
    }


def records(n_models: int, rng: np.random.Generator):
    """Every record of the store, as ``make_record`` builds them."""
    specs = {name: get_metric(name) for name in METRICS}
    for index in range(n_models):
        model = model_info(index)
        for dataset_name, sizes in DATASETS.items():
            dataset = dataset_info(dataset_name)
            for name, spec in specs.items():
                params = {**spec.defaults, **spec.sample_sizes}
                for seed in SEEDS:
                    scores = {key: float(rng.random()) for key in spec.score_keys}
                    arrays = {}
                    if name in ARRAYS:
                        arrays[ARRAYS[name]] = rng.random((NUM_CODES, len(sizes)))
                        arrays["factor_entropy"] = rng.random(len(sizes)) * 3
                    yield make_record(
                        model=model,
                        dataset=dataset,
                        metric=name,
                        metric_version=spec.version,
                        params=params,
                        seed=seed,
                        directions=spec.directions,
                        config={"suite": "dlib", "gin": ""},
                        scores=scores,
                        arrays=arrays,
                        timings={"plan": 0.01, "extraction": 1.5, "compute": 0.2},
                        device="cuda:0",
                    )


def build_store(root: Path, n_models: int) -> int:
    """Write the records to ``root`` (the text ``Store.write`` writes, without its fsync)."""
    environment = record_module.environment("cuda:0")
    original = record_module.environment
    record_module.environment = lambda device=None: {**environment, "device": device}
    try:
        count = 0
        store = Store(root)
        root.mkdir(parents=True, exist_ok=True)
        for record in records(n_models, np.random.default_rng(0)):
            text = json.dumps(record, indent=1, allow_nan=False)
            store.path(record["key"]).write_text(text, encoding="utf-8")
            count += 1
    finally:
        record_module.environment = original
    (root / "COMPLETE").write_text(f"{STORE_VERSION} {count}\n")
    return count


def ready_store(root: Path, n_models: int, rebuild: bool) -> int:
    """The number of records in ``root``, building the store first unless it is complete."""
    marker = root / "COMPLETE"
    expected = n_models * len(DATASETS) * len(METRICS) * len(SEEDS)
    complete = marker.is_file() and marker.read_text().split() == [
        str(STORE_VERSION),
        str(expected),
    ]
    if complete and not rebuild:
        return expected
    if root.exists():
        shutil.rmtree(root)
    print(f"writing {expected:,} records to {root} ...", flush=True)
    start = time.perf_counter()
    count = build_store(root, n_models)
    print(f"  written in {time.perf_counter() - start:.1f} s", flush=True)
    return count


def disbench_command() -> list[str]:
    """The ``disbench`` entry point of this interpreter's environment."""
    script = Path(sys.executable).with_name("disbench")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "disbench.cli"]


def time_command(command: list[str], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds


def time_in_process(root: Path, repeats: int) -> dict[str, list[float]]:
    steps: dict[str, list[float]] = {"load": [], "compare": [], "format": [], "total": []}
    for _ in range(repeats):
        start = time.perf_counter()
        frame = load(root)
        loaded = time.perf_counter()
        table = compare(frame)
        compared = time.perf_counter()
        format_table(table)
        formatted = time.perf_counter()
        for step, seconds in (
            ("load", loaded - start),
            ("compare", compared - loaded),
            ("format", formatted - compared),
            ("total", formatted - start),
        ):
            steps[step].append(seconds)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", type=int, default=50, help="models in the store (200 records each)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median counts")
    parser.add_argument("--store", type=Path, help="folder of the store (kept between runs)")
    parser.add_argument("--rebuild", action="store_true", help="write the store afresh")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    root = args.store or Path(tempfile.gettempdir()) / f"disbench-bench-compare-{args.models}"

    count = ready_store(root, args.models, args.rebuild)
    size_mib = sum(path.stat().st_size for path in root.glob("*.json")) / 2**20
    print(
        f"disbench compare over {count:,} records ({size_mib:.0f} MiB) in {root}; "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, pandas {pd.__version__}"
    )

    command = [*disbench_command(), "compare", "--store", str(root)]
    command_s = time_command(command, args.repeats)
    steps = time_in_process(root, args.repeats)
    median = statistics.median(command_s)
    print(f"\n{'step':<34}{'median s':>10}{'min s':>8}{'max s':>8}")
    rows = [("command: disbench compare", command_s)]
    rows += [(f"in process: {step}", seconds) for step, seconds in steps.items()]
    for label, seconds in rows:
        print(
            f"{label:<34}{statistics.median(seconds):>10.3f}"
            f"{min(seconds):>8.3f}{max(seconds):>8.3f}"
        )
    verdict = "pass" if median < TARGET_S else "FAIL"
    print(f"\ncommand median {median:.3f} s, target < {TARGET_S:g} s: {verdict}")
    if args.json is not None:
        figures = {
            "records": count,
            "cores": os.cpu_count(),
            "command_s": command_s,
            "in_process_s": steps,
            "target_s": TARGET_S,
            "pass": median < TARGET_S,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
