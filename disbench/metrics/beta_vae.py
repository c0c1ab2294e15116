"""The BetaVAE score, ``z_diff``: can a linear classifier tell which factor a batch of pairs
shares from the mean absolute difference of their codes?

I. Higgins, L. Matthey, A. Pal, C. Burgess, X. Glorot, M. Botvinick, S. Mohamed,
A. Lerchner, "beta-VAE: learning basic visual concepts with a constrained variational
framework", ICLR 2017, https://openreview.net/forum?id=Sy2fzU9gl, as computed by
disentanglement_lib (``evaluation/metrics/beta_vae.py``).

An interventional metric in two parts (``disbench.metrics.sampling``): ``z_diff_plan``
draws the rows to encode from a ``FactorSampler``; ``z_diff`` computes the score from their
codes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from disbench._validation import check_positive_int
from disbench.metrics._intervention import (
    check_batch_size,
    check_labels,
    check_num_factors,
    check_points,
    check_same_dims,
    check_sampler,
    draw_labels,
    rescale_to_chance,
)
from disbench.metrics._utils import sklearn_seed
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan

_NAME = "z_diff"


def z_diff_plan(
    sampler: FactorSampler,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    rng: int | np.random.Generator | None = 0,
) -> InterventionPlan:
    """The rows the BetaVAE score observes: per point, a batch of pairs that share one factor.

    Parameters
    ----------
    sampler : FactorSampler
        The data set's sampler (``disbench.benchmark.sampling.sampler_for``); it needs at
        least 2 factors.
    batch_size : int, default=64
        Pairs per point.
    num_train, num_eval : int, default=10_000, 5_000
        Points (batches of pairs) that train the classifier and that evaluate it.
    rng : int, numpy.random.Generator or None, default=0
        Seed or generator of every draw.

    Returns
    -------
    InterventionPlan
        ``rows``: ``"train_a"``, ``"train_b"`` (num_train * batch_size,) and ``"eval_a"``,
        ``"eval_b"`` (num_eval * batch_size,): row i of ``*_b`` shares with row i of ``*_a``
        the value of the point's factor, the batches of consecutive points in order.
        ``meta``: ``"train_factor"`` (num_train,) and ``"eval_factor"`` (num_eval,) int64,
        the factor each point shares (uniform over factors), and ``"num_factors"`` (a 0-d
        int array).

    Notes
    -----
    The ``*_a`` rows are uniform; each ``*_b`` row takes its ``*_a`` row's value of the
    point's factor k and draws the other factors uniformly (on a grid) or uniformly among
    the stored rows with that value (on a labelled sample, where a value held by fewer than
    2 rows raises the sampler's ``ValueError``). Train rows are drawn before eval rows:
    changing ``num_eval`` leaves the training rows as they were.

    References
    ----------
    Higgins et al. 2017. google-research/disentanglement_lib (read at 76f41e3),
    ``evaluation/metrics/beta_vae.py::_generate_training_sample`` with the study's
    ``beta_vae_sklearn`` bindings ``batch_size = 64``, ``num_train = 10000``,
    ``num_eval = 5000``.

    Known differences
    -----------------
    - Draws come from a numpy ``Generator``, not a ``RandomState``: the same distribution,
      other numbers for a given seed. disentanglement_lib draws the second batch whole and
      overwrites factor k, which gives the same distribution on a grid.
    - Carbonneau et al. (``src/metrics/z_diff.py``) pair rows of a table without
      replacement, the shared value drawn uniformly among values with at least 2 rows;
      here the value follows the rows' frequencies and pairs are drawn with replacement.

    Examples
    --------
    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_diff_plan(sampler, batch_size=8, num_train=50, num_eval=20)
    >>> {name: rows.shape for name, rows in plan.rows.items()}
    {'train_a': (400,), 'train_b': (400,), 'eval_a': (160,), 'eval_b': (160,)}
    >>> a, b = sampler.factors(plan.rows["train_a"]), sampler.factors(plan.rows["train_b"])
    >>> k = np.repeat(plan.meta["train_factor"], 8)        # each pair's shared factor
    >>> bool((a[np.arange(400), k] == b[np.arange(400), k]).all())
    True
    """
    num_factors = check_sampler(sampler, _NAME)
    batch_size = check_batch_size(batch_size, minimum=1)
    num_train = check_positive_int(num_train, "num_train")
    num_eval = check_positive_int(num_eval, "num_eval")
    generator = np.random.default_rng(rng)
    rows, meta = {}, {"num_factors": np.asarray(num_factors)}
    for split, num_points in (("train", num_train), ("eval", num_eval)):
        labels = draw_labels(num_points, num_factors, generator)
        first = sampler.sample(num_points * batch_size, generator)
        shared = np.eye(num_factors, dtype=bool)[np.repeat(labels, batch_size)]
        rows[f"{split}_a"] = first
        rows[f"{split}_b"] = sampler.sample_sharing(sampler.factors(first), shared, generator)
        meta[f"{split}_factor"] = labels
    return InterventionPlan(rows=rows, meta=meta)


def z_diff(
    train_a: Any,
    train_b: Any,
    eval_a: Any,
    eval_b: Any,
    train_factor: Any,
    eval_factor: Any,
    num_factors: Any,
    *,
    batch_size: int = 64,
    max_iter: int = 100,
    rescale: bool = False,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """The BetaVAE score: accuracy of a logistic regression that reads the shared factor
    off the mean absolute code difference of a batch of pairs.

    Parameters
    ----------
    train_a, train_b : array-like or torch.Tensor of shape (num_train * batch_size, n_codes)
        Codes of the training pairs (row i of ``train_a`` with row i of ``train_b``), point
        after point.
    eval_a, eval_b : array-like or torch.Tensor of shape (num_eval * batch_size, n_codes)
        Codes of the evaluation pairs.
    train_factor, eval_factor : array-like of int, shape (num_points,)
        The factor each point's pairs share.
    num_factors : int
        K, the number of factors (>= 2): the classes of the classifier.
    batch_size : int, default=64
        Pairs per point, as in the plan.
    max_iter : int, default=100
        Iterations of the logistic regression's solver (scikit-learn's default, which
        disentanglement_lib keeps; Carbonneau et al. use 10,000).
    rescale : bool, default=False
        Report Carbonneau et al.'s (acc - 1/K) / (1 - 1/K) instead of the accuracies.
    rng : int, numpy.random.Generator or None, default=0
        Seed or generator of the classifier's ``random_state``.

    Returns
    -------
    MetricResult
        ``scores``: ``"train_accuracy"`` and ``"eval_accuracy"`` in [0, 1] (chance 1/K;
        rescaled, chance 0). ``arrays``: ``"train_confusion"`` and ``"eval_confusion"``
        (K, K), points by true (rows) and predicted (columns) factor. ``notes`` report a
        solver that did not converge.

    Notes
    -----
    For a point with shared factor k and pairs (z_a^b, z_b^b), b = 1..B, the feature is

    .. math:: x = \\frac{1}{B} \\sum_{b=1}^{B} |z_a^b - z_b^b| \\in \\mathbb{R}^{D}

    (elementwise; computed in float64 for all points at once). scikit-learn's
    ``LogisticRegression`` with its default options (L2, C = 1, lbfgs, multinomial) is fit
    to the training features and labels; the accuracies are its share of correct
    predictions on the training and on the evaluation points. A code that copies factor k
    gives x_k = 0 exactly when k is shared: perfect codes score 1. Codes blind to the
    factors score about 1/K on evaluation (training is slightly above, fitted to the
    same points).

    References
    ----------
    Higgins et al. 2017, section 3 and appendix. google-research/disentanglement_lib (read
    at 76f41e3), ``evaluation/metrics/beta_vae.py::compute_beta_vae_sklearn``.
    ``rescale``: M.-A. Carbonneau et al., "Measuring disentanglement: a review of metrics",
    IEEE TNNLS 2022, arXiv:2012.09276, and ubisoft/ubisoft-laforge-disentanglement-metrics
    ``src/metrics/z_diff.py`` (``scale=True``; their variant also uses ``batch_size=200``
    and ``max_iter=10000``).

    Known differences
    -----------------
    - disentanglement_lib calls ``LogisticRegression(random_state=...)`` with scikit-learn's
      defaults, which changed in scikit-learn 0.22 (from liblinear one-vs-rest to lbfgs
      multinomial); its study ran with the old ones, this uses today's. Their
      ``random_state`` is the run's ``RandomState``; here a seed drawn from ``rng`` (lbfgs
      does not use it).
    - Codes are converted to float64 (disentanglement_lib averages in the encoder's dtype).
    - A solver that stops at ``max_iter`` is reported in ``notes`` rather than as a warning.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 4, size=(120, 2)).astype(float)   # 30 points of 4 pairs
    >>> labels = np.tile([0, 1], 15)
    >>> b = a + rng.integers(1, 3, size=a.shape)                # every code moves ...
    >>> b[np.arange(120), np.repeat(labels, 4)] = a[np.arange(120), np.repeat(labels, 4)]
    >>> z_diff(a, b, a, b, labels, labels, 2, batch_size=4).scores  # ... but the shared one
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0}

    Through a plan, codes equal to the factors (as the encoder of a perfect model):

    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_diff_plan(sampler, batch_size=16, num_train=200, num_eval=100)
    >>> codes = {name: sampler.factors(rows) * 1.0 for name, rows in plan.rows.items()}
    >>> z_diff(**codes, **plan.meta, batch_size=16, rescale=True).scores
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0}
    """
    num_factors = check_num_factors(num_factors, _NAME)
    batch_size = check_batch_size(batch_size, minimum=1)
    max_iter = check_positive_int(max_iter, "max_iter")
    train_labels = check_labels(train_factor, "train_factor", num_factors, _NAME)
    eval_labels = check_labels(eval_factor, "eval_factor", num_factors, _NAME)
    if np.unique(train_labels).size < 2:
        raise ValueError(
            f"{_NAME}: the training points share a single factor ({train_labels[0]}); the "
            "classifier needs at least 2 factors among train_factor (draw more points)"
        )
    points = {
        name: check_points(codes, name, labels, f"{split}_factor", batch_size, _NAME)
        for name, codes, labels, split in (
            ("train_a", train_a, train_labels, "train"),
            ("train_b", train_b, train_labels, "train"),
            ("eval_a", eval_a, eval_labels, "eval"),
            ("eval_b", eval_b, eval_labels, "eval"),
        )
    }
    check_same_dims(points, _NAME)
    train_features = np.abs(points["train_a"] - points["train_b"]).mean(axis=1)
    eval_features = np.abs(points["eval_a"] - points["eval_b"]).mean(axis=1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = LogisticRegression(random_state=sklearn_seed(rng), max_iter=max_iter)
        model.fit(train_features, train_labels)
        predicted = model.predict(train_features), model.predict(eval_features)
    for w in caught:  # everything but the convergence report goes on as if not caught
        if w.category is not ConvergenceWarning:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = tuple(
        sorted(
            {
                f"logistic regression: {str(w.message).splitlines()[0].rstrip(': ')}; the "
                f"accuracies are those of the unconverged model (max_iter={max_iter})"
                for w in caught
                if w.category is ConvergenceWarning
            }
        )
    )
    accuracies = []
    confusions = []
    for labels, guess in zip((train_labels, eval_labels), predicted, strict=True):
        accuracy = float(np.mean(guess == labels))
        accuracies.append(rescale_to_chance(accuracy, num_factors) if rescale else accuracy)
        confusions.append(
            np.bincount(labels * num_factors + guess, minlength=num_factors**2).reshape(
                num_factors, num_factors
            )
        )
    return MetricResult(
        name=_NAME,
        scores={"train_accuracy": accuracies[0], "eval_accuracy": accuracies[1]},
        arrays={"train_confusion": confusions[0], "eval_confusion": confusions[1]},
        params={
            "batch_size": batch_size,
            "max_iter": max_iter,
            "rescale": rescale,
            "num_train": len(train_labels),
            "num_eval": len(eval_labels),
            "num_factors": num_factors,
        },
        notes=notes,
    )
