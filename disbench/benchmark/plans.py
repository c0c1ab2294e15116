"""Sampling plans: which rows each metric observes, drawn before anything is encoded.

A plan is an array of rows — stored-row indices on a finite data set or a table of
precomputed codes, factor rows on a procedural set — built from a seeded
``numpy.random.Generator``. Each metric draws from a generator of its own, derived from the
run's seed and the metric's name, so adding a metric to a suite changes no other metric's
numbers; the metric then goes on drawing from the same generator (as disentanglement_lib
passes one ``random_state`` from sampling to scoring).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from disbench.benchmark.datasets import FiniteDataset, GroundTruthDataset


def metric_generator(seed: int, metric: str) -> np.random.Generator:
    """The generator of ``metric`` in a run seeded ``seed``: ``default_rng([seed, crc32(metric)])``.

    crc32, not ``hash``: Python salts string hashes per process.
    """
    return np.random.default_rng([seed, zlib.crc32(metric.encode())])


@dataclass(frozen=True)
class Plan:
    """The rows one metric observes: ``train`` and, for train/test metrics, ``test``.

    Rows are int64 indices ``(n,)`` on finite data sets and tables of codes, factor rows
    ``(n, K)`` on procedural data sets.
    """

    metric: str
    train: np.ndarray
    test: np.ndarray | None = None


def sample_rows(
    dataset: GroundTruthDataset | None, n: int, rng: np.random.Generator, *, n_rows: int = 0
) -> np.ndarray:
    """``n`` rows to observe: stored-row indices when the rows are stored, else factor rows.

    ``dataset`` None means a table of ``n_rows`` precomputed codes: rows uniformly with
    replacement, as on a labelled sample.
    """
    if dataset is None:
        return rng.integers(0, n_rows, size=n, dtype=np.int64)
    if isinstance(dataset, FiniteDataset):
        return dataset.sample_indices(n, rng)
    return dataset.sample_factors(n, rng)


def observational_plan(
    metric: str,
    sample_sizes: dict[str, int],
    dataset: GroundTruthDataset | None,
    rng: np.random.Generator,
    *,
    n_rows: int = 0,
) -> Plan:
    """The plan of an observational metric: ``num_train`` rows, then ``num_test`` rows."""
    train = sample_rows(dataset, sample_sizes["num_train"], rng, n_rows=n_rows)
    test = None
    if "num_test" in sample_sizes:
        test = sample_rows(dataset, sample_sizes["num_test"], rng, n_rows=n_rows)
    return Plan(metric, train, test)
