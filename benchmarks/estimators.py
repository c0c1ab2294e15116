"""Speed and memory of ``disbench.estimators.mutual_information`` against per-pair loops.

Each benchmark times one vectorised call that fills the whole (n_codes, n_factors) matrix
against the naive reference a disentanglement metric would otherwise run, one Python call
per (code, factor) pair:

- ``plugin``: disentanglement_lib's histogram discretisation of the codes (per column,
  ``np.digitize(z, np.histogram(z, 20)[1][:-1])``), then ``sklearn.metrics.mutual_info_score``
  per pair; disbench's timing includes its own discretisation too.
- ``knn_cd``: ``sklearn.feature_selection.mutual_info_classif`` on one code and one factor
  at a time (Ross's continuous–discrete kNN estimator, k = 3).
- ``ksg``: ``sklearn.feature_selection.mutual_info_regression`` per pair (Kraskov et al.),
  only up to 10,000 rows, reported for information with no target.

The data imitate an encoder's output: 6 uniform discrete factors of sizes
(10, 10, 10, 8, 4, 15); codes 0-5 are noisy monotone functions of factors 0-5 and codes 6-9
pure noise, all float32. Times are the best of several runs (``time.perf_counter``); the
slow reference is run at most twice from 100,000 rows on. Peak memory is that of one
separate disbench call under ``tracemalloc`` (numpy's allocations are traced; the KD-tree
of ``ksg``'s C++ search is not), printed beside N·(D+K)·8 bytes, the size of the inputs as
float64. ``max |diff|`` is the largest disagreement between the two MI matrices, in nats.

Run: ``.venv/bin/python benchmarks/estimators.py [--rows 10000 100000] [--repeats 3]
[--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.metrics import mutual_info_score

from disbench.estimators import mutual_information

FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
N_NOISE_CODES = 4
NUM_BINS = 20
N_NEIGHBORS = 3
#: KSG's reference is only run up to this many rows.
KSG_MAX_ROWS = 10_000
#: From this many rows on, the reference loop is timed at most twice.
SLOW_REFERENCE_ROWS = 100_000
#: Minimum speed-up (reference seconds / disbench seconds) per (estimator, rows).
TARGETS = {
    ("plugin", 10_000): 15.0,
    ("knn_cd", 10_000): 5.0,
    ("plugin", 100_000): 15.0,
    ("knn_cd", 100_000): 15.0,
}

MiMatrix = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Result:
    estimator: str
    rows: int
    reference_runs: int
    disbench_runs: int
    reference_s: float
    disbench_s: float
    ratio: float
    target: float | None
    passed: bool | None
    peak_mib: float
    inputs_f64_mib: float
    max_abs_diff: float


def make_data(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Factors (n_rows, 6) int64 and codes (n_rows, 10) float32, as described above."""
    rng = np.random.default_rng(seed)
    sizes = np.array(FACTOR_SIZES)
    factors = rng.integers(0, sizes, size=(n_rows, sizes.size))
    u = factors / (sizes - 1)
    signal = np.stack(
        [
            u[:, 0],
            np.tanh(4.0 * (u[:, 1] - 0.5)),
            u[:, 2] ** 3,
            np.expm1(2.0 * u[:, 3]),
            -np.sqrt(u[:, 4]),
            np.log1p(5.0 * u[:, 5]),
        ],
        axis=1,
    )
    signal = signal / signal.std(axis=0)
    noisy = signal + 0.3 * rng.standard_normal(signal.shape)
    noise = rng.standard_normal((n_rows, N_NOISE_CODES))
    codes = np.concatenate([noisy, noise], axis=1).astype(np.float32)
    return codes, factors


def reference_plugin(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """disentanglement_lib's histogram discretisation, then mutual_info_score per pair."""
    labels = np.stack([np.digitize(z, np.histogram(z, NUM_BINS)[1][:-1]) for z in codes.T], axis=1)
    mi = np.empty((codes.shape[1], factors.shape[1]))
    for j in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            mi[j, k] = mutual_info_score(labels[:, j], factors[:, k])
    return mi


def reference_knn_cd(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """mutual_info_classif on one code against one factor at a time."""
    mi = np.empty((codes.shape[1], factors.shape[1]))
    for j in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            mi[j, k] = mutual_info_classif(
                codes[:, [j]], factors[:, k], n_neighbors=N_NEIGHBORS, random_state=0
            )[0]
    return mi


def reference_ksg(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """mutual_info_regression on one code against one factor (as a float) at a time."""
    mi = np.empty((codes.shape[1], factors.shape[1]))
    for j in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            mi[j, k] = mutual_info_regression(
                codes[:, [j]],
                factors[:, k].astype(np.float64),
                n_neighbors=N_NEIGHBORS,
                random_state=0,
            )[0]
    return mi


def disbench_estimator(estimator: str) -> MiMatrix:
    def run(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
        return mutual_information(codes, factors, estimator=estimator, n_neighbors=N_NEIGHBORS)

    return run


def best_time(
    fn: MiMatrix, codes: np.ndarray, factors: np.ndarray, repeats: int
) -> tuple[float, np.ndarray]:
    """Shortest wall time of ``repeats`` calls, and the last call's result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(codes, factors)
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_bytes(fn: MiMatrix, codes: np.ndarray, factors: np.ndarray) -> int:
    """Peak memory allocated during one call, as seen by tracemalloc."""
    tracemalloc.start()
    try:
        fn(codes, factors)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_case(
    estimator: str,
    reference: MiMatrix,
    codes: np.ndarray,
    factors: np.ndarray,
    repeats: int,
) -> Result:
    rows = codes.shape[0]
    reference_repeats = min(repeats, 2) if rows >= SLOW_REFERENCE_ROWS else repeats
    ours = disbench_estimator(estimator)
    reference_s, expected = best_time(reference, codes, factors, reference_repeats)
    disbench_s, got = best_time(ours, codes, factors, repeats)
    ratio = reference_s / disbench_s
    target = TARGETS.get((estimator, rows))
    mib = 2.0**20
    return Result(
        estimator=estimator,
        rows=rows,
        reference_runs=reference_repeats,
        disbench_runs=repeats,
        reference_s=reference_s,
        disbench_s=disbench_s,
        ratio=ratio,
        target=target,
        passed=None if target is None else ratio >= target,
        peak_mib=peak_bytes(ours, codes, factors) / mib,
        inputs_f64_mib=rows * (codes.shape[1] + factors.shape[1]) * 8 / mib,
        max_abs_diff=float(np.abs(got - expected).max()),
    )


def machine() -> dict[str, str | int | None]:
    cpu = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu or platform.processor() or None,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def print_table(results: list[Result]) -> None:
    header = (
        f"{'estimator':<9} {'N':>7} {'ref s':>8} {'disbench s':>10} {'ratio':>7} "
        f"{'target':>7} {'result':>6} {'peak MiB':>8} {'inputs MiB':>10} {'max |diff|':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        target = "-" if r.target is None else f">={r.target:g}x"
        verdict = "info" if r.passed is None else ("pass" if r.passed else "FAIL")
        print(
            f"{r.estimator:<9} {r.rows:>7} {r.reference_s:>8.3f} {r.disbench_s:>10.4f} "
            f"{r.ratio:>6.1f}x {target:>7} {verdict:>6} {r.peak_mib:>8.1f} "
            f"{r.inputs_f64_mib:>10.1f} {r.max_abs_diff:>10.2e}"
        )
    print(
        "ratio = ref s / disbench s (best runs); inputs MiB = N·(D+K)·8 bytes; max |diff| in nats"
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="timed runs; the best counts"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    info = machine()
    print(
        f"disbench estimators vs per-pair loops; {info['cores']} cores, {info['cpu']}; "
        f"{len(FACTOR_SIZES) + N_NOISE_CODES} codes x {len(FACTOR_SIZES)} factors"
    )
    results = []
    for rows in args.rows:
        codes, factors = make_data(rows)
        cases = [("plugin", reference_plugin), ("knn_cd", reference_knn_cd)]
        if rows <= KSG_MAX_ROWS:
            cases.append(("ksg", reference_ksg))
        for estimator, reference in cases:
            results.append(run_case(estimator, reference, codes, factors, args.repeats))
            print(f"  done: {estimator} at N={rows}", flush=True)
    print()
    print_table(results)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {"machine": info, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
