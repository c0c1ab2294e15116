"""Observational metrics against the reference loops they replace, in one run.

On the real 3D Shapes VAE codes in ../shared/data/shapes3d_codes (first 10,000 rows train,
next 5,000 test; 10 codes, 6 factors), CPU, this measures:

1. every observational metric with its default settings and DCI on its fast backend
   (``predictor="hist_gbt"``): the seconds each takes, and their total (target < 5 s);
2. DCI with disentanglement_lib's gradient-boosted trees, its per-factor fits in parallel
   (``n_jobs=-1``), against the serial per-factor scikit-learn loop as disentanglement_lib
   writes it (target: at most 0.6 of the loop's time);
3. MIG, modularity and the unsupervised scores against disentanglement_lib's per-pair
   ``mutual_info_score`` loops (target: at least 10x faster). Modularity is timed as the
   score it is (the MI matrix and Ridgeway & Mozer's formula); explicitness, the logistic
   regressions that both sides fit alike, is timed in (1).

Run: ``.venv/bin/python benchmarks/metrics.py [--data DIR] [--repeats 3] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.linalg
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import mutual_info_score

from disbench.estimators import mutual_information
from disbench.metrics import get_metric, list_metrics
from disbench.metrics.modularity import _modularity_per_code

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shapes3d_codes"


def best_of(function: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def dlib_histogram(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """disentanglement_lib's _histogram_discretize, column by column."""
    return np.stack([np.digitize(c, np.histogram(c, num_bins)[1][:-1]) for c in codes.T], axis=1)


def dlib_mi_matrix(labels: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """disentanglement_lib's discrete_mutual_info: one sklearn call per (code, factor)."""
    return np.array([[mutual_info_score(f, c) for f in factors.T] for c in labels.T])


def dlib_mig(codes: np.ndarray, factors: np.ndarray) -> float:
    mi = dlib_mi_matrix(dlib_histogram(codes), factors)
    entropy = np.array([mutual_info_score(f, f) for f in factors.T])
    top = np.sort(mi, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / entropy))


def dlib_modularity(codes: np.ndarray, factors: np.ndarray) -> float:
    squared = np.square(dlib_mi_matrix(dlib_histogram(codes), factors))
    top = squared.max(axis=1)
    score = 1.0 - (squared.sum(axis=1) - top) / (top * (squared.shape[1] - 1.0))
    score[top == 0] = 0.0
    return float(np.mean(score))


def dlib_unsupervised(codes: np.ndarray) -> float:
    covariance = np.cov(codes.T)
    total = 0.5 * (np.sum(np.log(np.diag(covariance))) - np.linalg.slogdet(covariance)[1])
    root = scipy.linalg.sqrtm(covariance * np.diag(covariance)[:, None])
    wasserstein = 2 * np.trace(covariance) - 2 * np.trace(root)
    labels = dlib_histogram(codes)
    mi = dlib_mi_matrix(labels, labels)
    np.fill_diagonal(mi, 0)
    return float(total + np.real(wasserstein) + mi.sum())


def dlib_dci_loop(
    codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray
) -> np.ndarray:
    """disentanglement_lib's compute_importance_gbt: one classifier per factor, serially."""
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        model = GradientBoostingClassifier(random_state=k).fit(codes, factors[:, k])
        importance[:, k] = np.abs(model.feature_importances_)
        model.predict(codes)
        model.predict(test_codes)
    return importance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shapes3d_codes folder")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per fast case")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    if not (args.data / "representations.npz").is_file():
        raise SystemExit(f"no 3D Shapes codes in {args.data}; pass --data DIR")
    codes = np.load(args.data / "representations.npz", allow_pickle=False)["mean"]
    factors = np.loadtxt(args.data / "classes.csv", delimiter=",", skiprows=1).astype(np.int64)
    train = codes[:10_000], factors[:10_000]
    test = codes[10_000:15_000], factors[10_000:15_000]

    machine = platform.processor() or platform.machine()
    print(f"disbench metrics on 3D Shapes VAE codes; {os.cpu_count()} cores, {machine}")
    figures: dict[str, object] = {"cores": os.cpu_count(), "metrics": {}}
    total = 0.0
    print(f"\n{'metric':<26}{'seconds':>9}")
    for spec in list_metrics():
        options = {"predictor": "hist_gbt"} if spec.name == "dci" else {}
        if spec.needs_test_set:
            options.update(test_codes=test[0], test_factors=test[1])
        seconds = best_of(
            lambda spec=spec, options=options: spec.function(*train, **options), args.repeats
        )
        figures["metrics"][spec.name] = seconds
        total += seconds
        print(f"{spec.name:<26}{seconds:>9.3f}")
    print(f"{'total (target < 5 s)':<26}{total:>9.3f}  {'pass' if total < 5 else 'FAIL'}")
    figures["total"] = total

    dci = get_metric("dci").function
    parallel = best_of(lambda: dci(*train, test_codes=test[0], test_factors=test[1], n_jobs=-1), 1)
    serial = best_of(lambda: dlib_dci_loop(*train, *test), 1)
    figures["dci_gbt"] = {"disbench_n_jobs_-1": parallel, "dlib_serial_loop": serial}
    print(
        f"\nDCI, dlib's GBT: disbench n_jobs=-1 {parallel:.2f} s, serial loop {serial:.2f} s, "
        f"fraction {parallel / serial:.2f} (target <= 0.6) "
        f"{'pass' if parallel <= 0.6 * serial else 'FAIL'}"
    )

    comparisons = {
        "mig": (lambda: get_metric("mig").function(*train), lambda: dlib_mig(*train)),
        "modularity": (
            lambda: _modularity_per_code(mutual_information(*train)).mean(),
            lambda: dlib_modularity(*train),
        ),
        "unsupervised": (
            lambda: get_metric("unsupervised").function(train[0]),
            lambda: dlib_unsupervised(train[0]),
        ),
    }
    print(f"\n{'score':<14}{'dlib loop s':>12}{'disbench s':>12}{'ratio':>8}  target")
    figures["versus_loops"] = {}
    for name, (ours, reference) in comparisons.items():
        ours_s = best_of(ours, args.repeats)
        reference_s = best_of(reference, args.repeats)
        ratio = reference_s / ours_s
        figures["versus_loops"][name] = {"dlib": reference_s, "disbench": ours_s, "ratio": ratio}
        verdict = "pass" if ratio >= 10 else "FAIL"
        print(f"{name:<14}{reference_s:>12.4f}{ours_s:>12.4f}{ratio:>7.1f}x  >=10x {verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
