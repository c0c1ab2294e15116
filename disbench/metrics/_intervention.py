"""Pieces shared by the intervention-based classifier scores ``z_diff``, ``z_min_var`` and
``z_max_var``: drawing batches with factors held fixed, checking the codes of planned rows,
the variance votes, the majority-vote classifier and rescaling an accuracy to chance.

Plans draw every point's batch in one call to the sampler; computations reshape the codes
of ``num_points * batch_size`` rows to ``(num_points, batch_size, n_codes)``. Public
functions validate with the ``check_*`` helpers here; the other helpers trust their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_positive_int
from disbench.metrics._utils import as_numpy, check_codes, continuous_columns
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan


def check_sampler(sampler: FactorSampler, metric: str) -> int:
    """The number of factors of ``sampler``; ``ValueError`` below two (nothing to tell apart)."""
    num_factors = len(sampler.factor_sizes)
    if num_factors < 2:
        raise ValueError(
            f"{metric} needs at least 2 factors (it predicts which factor a batch holds "
            f"fixed); the data set {sampler.name!r} has {num_factors}"
        )
    return num_factors


def check_batch_size(batch_size: Any, *, minimum: int) -> int:
    """``batch_size`` as an int >= ``minimum`` (2 where a variance is taken over the batch)."""
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size < minimum:
        raise ValueError(
            f"batch_size must be >= {minimum} (a variance over one row is undefined); "
            f"got {batch_size}"
        )
    return batch_size


def check_prune_threshold(prune_threshold: Any) -> float:
    """``prune_threshold`` as a finite float >= 0."""
    if isinstance(prune_threshold, bool) or not isinstance(prune_threshold, (int, float)):
        raise ValueError(f"prune_threshold must be a number >= 0; got {prune_threshold!r}")
    if not (np.isfinite(prune_threshold) and prune_threshold >= 0):
        raise ValueError(f"prune_threshold must be a finite number >= 0; got {prune_threshold!r}")
    return float(prune_threshold)


def check_num_factors(num_factors: Any, metric: str) -> int:
    """``num_factors`` (an int, or the 0-d array a plan's ``meta`` carries) as an int >= 2."""
    value = np.asarray(as_numpy(num_factors))
    if value.ndim != 0 or not np.issubdtype(value.dtype, np.integer) or int(value) < 2:
        raise ValueError(f"{metric}: num_factors must be an integer >= 2; got {num_factors!r}")
    return int(value)


def check_labels(labels: Any, name: str, num_factors: int, metric: str) -> np.ndarray:
    """Factor labels (the factor each point held fixed or varied) as int64 ``(num_points,)``."""
    array = np.asarray(as_numpy(labels))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{metric}: {name} must be a non-empty 1-D array of factor indices, one per "
            f"point; got shape {array.shape}"
        )
    numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if not numeric or continuous_columns(array.reshape(-1, 1)) or not np.isfinite(array).all():
        raise ValueError(f"{metric}: {name} must hold integer factor indices; got {array.dtype}")
    array = array.astype(np.int64)
    if array.min() < 0 or array.max() >= num_factors:
        raise ValueError(
            f"{metric}: {name} must hold factor indices in [0, {num_factors}) "
            f"(num_factors={num_factors}); got values in [{array.min()}, {array.max()}]"
        )
    return array


def check_points(
    codes: Any, name: str, labels: np.ndarray, label_name: str, batch_size: int, metric: str
) -> np.ndarray:
    """The codes of a plan's batches, validated and reshaped to (num_points, batch_size, D)."""
    codes = check_codes(codes, name)
    expected = len(labels) * batch_size
    if codes.shape[0] != expected:
        raise ValueError(
            f"{metric}: {name} has {codes.shape[0]} rows; expected one batch of batch_size "
            f"rows per point of {label_name}: {len(labels)} × {batch_size} = {expected} "
            "(pass the batch_size the plan was drawn with)"
        )
    return codes.reshape(len(labels), batch_size, codes.shape[1])


def check_same_dims(arrays: dict[str, np.ndarray], metric: str) -> int:
    """The common number of codes of ``arrays`` (last axis); ``ValueError`` when they differ."""
    dims = {name: array.shape[-1] for name, array in arrays.items()}
    if len(set(dims.values())) != 1:
        listed = ", ".join(f"{name} {dim}" for name, dim in dims.items())
        raise ValueError(
            f"{metric}: every codes array must have the same number of codes; got {listed}"
        )
    return next(iter(dims.values()))


def draw_labels(num_points: int, num_factors: int, rng: np.random.Generator) -> np.ndarray:
    """The factor each point intervenes on, uniform over factors: int64 ``(num_points,)``."""
    return rng.integers(0, num_factors, size=num_points, dtype=np.int64)


def sharing_batches(
    sampler: FactorSampler,
    labels: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    *,
    vary_one: bool,
) -> np.ndarray:
    """``batch_size`` rows per point, drawn in one call to the sampler, points in order.

    Each point draws a base row; its batch shares the base row's value of factor
    ``labels[i]`` (the others drawn freely) or, with ``vary_one``, every value but that of
    factor ``labels[i]`` (which is drawn freely). The base row itself is not in the batch:
    on a grid and on a labelled sample alike, the batch's rows are then independent draws
    given the shared values, as the rows of disentanglement_lib's FactorVAE batch are.
    """
    chosen = np.eye(len(sampler.factor_sizes), dtype=bool)[labels]
    fixed = ~chosen if vary_one else chosen
    base = sampler.factors(sampler.sample(len(labels), rng))
    return sampler.sample_sharing(
        np.repeat(base, batch_size, axis=0), np.repeat(fixed, batch_size, axis=0), rng
    )


def variance_plan(
    sampler: FactorSampler,
    *,
    metric: str,
    vary_one: bool,
    batch_size: int,
    num_train: int,
    num_eval: int,
    num_variance_estimate: int,
    rng: int | np.random.Generator | None,
) -> InterventionPlan:
    """The plan of ``z_min_var`` (one factor fixed) or ``z_max_var`` (``vary_one``).

    Rows ``variance`` (num_variance_estimate,), ``train`` (num_train * batch_size,) and
    ``eval`` (num_eval * batch_size,), drawn in that order; meta ``train_factor``,
    ``eval_factor`` and ``num_factors``.
    """
    num_factors = check_sampler(sampler, metric)
    batch_size = check_batch_size(batch_size, minimum=2)
    num_train = check_positive_int(num_train, "num_train")
    num_eval = check_positive_int(num_eval, "num_eval")
    num_variance_estimate = check_positive_int(num_variance_estimate, "num_variance_estimate")
    if num_variance_estimate < 2:
        raise ValueError(
            "num_variance_estimate must be >= 2 (a variance over one row is undefined); got 1"
        )
    generator = np.random.default_rng(rng)
    variance = sampler.sample(num_variance_estimate, generator)
    rows, meta = {"variance": variance}, {"num_factors": np.asarray(num_factors)}
    for split, num_points in (("train", num_train), ("eval", num_eval)):
        labels = draw_labels(num_points, num_factors, generator)
        rows[split] = sharing_batches(sampler, labels, batch_size, generator, vary_one=vary_one)
        meta[f"{split}_factor"] = labels
    return InterventionPlan(rows=rows, meta=meta)


def variance_votes(
    points: np.ndarray, global_variance: np.ndarray, active: np.ndarray, *, largest: bool
) -> np.ndarray:
    """Each point's vote: the active code of least (or, with ``largest``, greatest)
    within-batch variance relative to its global variance, as an index among all codes.

    ``points`` (P, B, D); variances with ddof=1 as in the references; ties go to the first
    code (numpy's arg-min/max, as the references).
    """
    ratio = np.var(points, axis=1, ddof=1)[:, active] / global_variance[active]
    pick = np.argmax(ratio, axis=1) if largest else np.argmin(ratio, axis=1)
    return np.flatnonzero(active)[pick]


def majority_vote(
    train_votes: np.ndarray,
    train_labels: np.ndarray,
    eval_votes: np.ndarray,
    eval_labels: np.ndarray,
    num_codes: int,
    num_factors: int,
) -> tuple[float, float, dict[str, np.ndarray]]:
    """The majority-vote classifier of Kim & Mnih (2018) and its train and eval accuracies.

    The vote table counts, per code j and factor k, the points that voted j while
    intervening on k: ``(num_codes, num_factors)``. The classifier maps each code to its
    most voted factor in the training table (the first factor on a tie, and factor 0 for a
    code that got no training vote, as numpy's argmax in the references). An accuracy is
    the share of a table's votes that the classifier maps to the right factor.
    """
    tables = [
        np.bincount(votes * num_factors + labels, minlength=num_codes * num_factors).reshape(
            num_codes, num_factors
        )
        for votes, labels in ((train_votes, train_labels), (eval_votes, eval_labels))
    ]
    classifier = np.argmax(tables[0], axis=1)
    codes = np.arange(num_codes)
    train_accuracy, eval_accuracy = (
        float(table[codes, classifier].sum() / table.sum()) for table in tables
    )
    arrays = {"train_votes": tables[0], "eval_votes": tables[1], "classifier": classifier}
    return train_accuracy, eval_accuracy, arrays


def rescale_to_chance(accuracy: float, num_factors: int) -> float:
    """Carbonneau et al.'s rescaling (acc - 1/K) / (1 - 1/K): chance 0, perfect 1."""
    chance = 1.0 / num_factors
    return (accuracy - chance) / (1.0 - chance)


def variance_vote_metric(
    variance: Any,
    train: Any,
    eval_: Any,
    train_factor: Any,
    eval_factor: Any,
    num_factors: Any,
    *,
    metric: str,
    largest: bool,
    count_active: bool,
    batch_size: int,
    prune_threshold: float,
    rescale: bool,
) -> MetricResult:
    """The computation of ``z_min_var`` (``largest=False``) and ``z_max_var``.

    Scores ``train_accuracy``, ``eval_accuracy`` and, with ``count_active``, the number of
    active codes ``num_active_dims``. Global variances (ddof=1) come from the ``variance``
    codes; codes of standard deviation below ``prune_threshold``, or of variance 0, are
    inactive. With no active code both accuracies are 0 (disentanglement_lib's convention)
    and a note says why.
    """
    num_factors = check_num_factors(num_factors, metric)
    batch_size = check_batch_size(batch_size, minimum=2)
    prune_threshold = check_prune_threshold(prune_threshold)
    variance = check_codes(variance, "variance")
    if variance.shape[0] < 2:
        raise ValueError(f"{metric}: variance needs at least 2 rows; got {variance.shape[0]}")
    train_labels = check_labels(train_factor, "train_factor", num_factors, metric)
    eval_labels = check_labels(eval_factor, "eval_factor", num_factors, metric)
    train = check_points(train, "train", train_labels, "train_factor", batch_size, metric)
    eval_ = check_points(eval_, "eval", eval_labels, "eval_factor", batch_size, metric)
    num_codes = check_same_dims({"variance": variance, "train": train, "eval": eval_}, metric)

    global_variance = np.var(variance, axis=0, ddof=1)
    # A code of variance 0 is inactive at any threshold: its variance ratio is 0 / 0.
    active = (np.sqrt(global_variance) >= prune_threshold) & (global_variance > 0)
    params = {
        "batch_size": batch_size,
        "prune_threshold": prune_threshold,
        "rescale": rescale,
        "num_train": len(train_labels),
        "num_eval": len(eval_labels),
        "num_variance_estimate": variance.shape[0],
        "num_factors": num_factors,
    }
    arrays = {"global_variance": global_variance, "active": active}
    pruned = np.flatnonzero(~active)
    counted = {"num_active_dims": float(active.sum())} if count_active else {}
    if not active.any():
        note = (
            f"no active code: every code's standard deviation is below prune_threshold="
            f"{prune_threshold} (or is 0); both accuracies set to 0, as disentanglement_lib does"
        )
        scores = {"train_accuracy": 0.0, "eval_accuracy": 0.0, **counted}
        return MetricResult(metric, scores, arrays, params, (note,))
    notes = (
        (
            f"codes {pruned.tolist()} inactive: standard deviation below "
            f"prune_threshold={prune_threshold} (or 0); they get no vote",
        )
        if pruned.size
        else ()
    )
    train_votes = variance_votes(train, global_variance, active, largest=largest)
    eval_votes = variance_votes(eval_, global_variance, active, largest=largest)
    train_accuracy, eval_accuracy, vote_arrays = majority_vote(
        train_votes, train_labels, eval_votes, eval_labels, num_codes, num_factors
    )
    if rescale:
        train_accuracy = rescale_to_chance(train_accuracy, num_factors)
        eval_accuracy = rescale_to_chance(eval_accuracy, num_factors)
    scores = {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy, **counted}
    return MetricResult(metric, scores, {**arrays, **vote_arrays}, params, notes)
