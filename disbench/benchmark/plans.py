"""Sampling plans: which rows each metric observes, drawn before anything is encoded.

A plan names arrays of rows — stored-row indices on a finite data set or a table of
precomputed codes, factor rows on a procedural set — drawn from a ``FactorSampler`` with a
seeded ``numpy.random.Generator``. Each metric draws from a generator of its own, derived
from the run's seed and the metric's name, so adding a metric to a suite changes no other
metric's numbers; the metric then goes on drawing from the same generator (as
disentanglement_lib passes one ``random_state`` from sampling to scoring).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from disbench.metrics import MetricSpec
from disbench.metrics.sampling import FactorSampler, InterventionPlan


def metric_generator(seed: int, metric: str) -> np.random.Generator:
    """The generator of ``metric`` in a run seeded ``seed``: ``default_rng([seed, crc32(metric)])``.

    crc32, not ``hash``: Python salts string hashes per process.
    """
    return np.random.default_rng([seed, zlib.crc32(metric.encode())])


def observational_plan(
    sampler: FactorSampler, sample_sizes: dict[str, int], rng: np.random.Generator
) -> InterventionPlan:
    """``num_train`` rows as ``codes``, then ``num_test`` rows as ``test_codes`` if asked.

    On a grid the rows are drawn with replacement, as disentanglement_lib draws factor rows.
    On a labelled sample (a table of codes, a file that is not a grid) they are drawn
    without replacement from one permutation, so train and test rows are disjoint and no
    row repeats (repeated rows would inflate test scores and break the kNN estimators):
    the test set takes at most a third of the rows, the train set at most the rest.
    """
    if sampler.is_grid:
        rows = {"codes": sampler.sample(sample_sizes["num_train"], rng)}
        if "num_test" in sample_sizes:
            rows["test_codes"] = sampler.sample(sample_sizes["num_test"], rng)
        return InterventionPlan(rows)
    stored = len(sampler)  # type: ignore[arg-type]
    order = rng.permutation(stored)
    n_test = min(sample_sizes.get("num_test", 0), stored // 3)
    n_train = min(sample_sizes["num_train"], stored - n_test)
    rows = {"codes": order[:n_train]}
    if "num_test" in sample_sizes:
        rows["test_codes"] = order[n_train : n_train + n_test]
    return InterventionPlan(rows)


def plan_metric(
    spec: MetricSpec,
    sampler: FactorSampler,
    params: dict[str, Any],
    sizes: dict[str, int],
    rng: np.random.Generator,
) -> InterventionPlan:
    """The plan of any registered metric: its own for interventional metrics, else
    ``observational_plan`` with the registry's (or the caller's) sample sizes."""
    if spec.plan is None:
        return observational_plan(sampler, sizes, rng)
    return spec.plan(sampler, **spec.options_for(spec.plan, params), rng=rng)
