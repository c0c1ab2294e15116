"""The FactorVAE score, ``z_min_var``: which code varies least when one factor is held fixed.

H. Kim, A. Mnih, "Disentangling by factorising", ICML 2018, arXiv:1802.05983, section 4,
as computed by disentanglement_lib (``evaluation/metrics/factor_vae.py``).

An interventional metric in two parts (``disbench.metrics.sampling``): ``z_min_var_plan``
draws the rows to encode from a ``FactorSampler``; ``z_min_var`` computes the score from
their codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.metrics._intervention import variance_plan, variance_vote_metric
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan


def z_min_var_plan(
    sampler: FactorSampler,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    rng: int | np.random.Generator | None = 0,
) -> InterventionPlan:
    """The rows the FactorVAE score observes: global-variance rows and one-factor-fixed batches.

    Parameters
    ----------
    sampler : FactorSampler
        The data set's sampler (``disbench.benchmark.sampling.sampler_for``); it needs at
        least 2 factors.
    batch_size : int, default=64
        Rows per point (>= 2), all sharing the value of the factor the point holds fixed.
    num_train, num_eval : int, default=10_000, 5_000
        Points (batches) that train the majority-vote classifier and that evaluate it.
    num_variance_estimate : int, default=10_000
        Rows (>= 2) drawn at random for the global variance of each code.
    rng : int, numpy.random.Generator or None, default=0
        Seed or generator of every draw.

    Returns
    -------
    InterventionPlan
        ``rows``: ``"variance"`` (num_variance_estimate,) uniform rows, then ``"train"``
        (num_train * batch_size,) and ``"eval"`` (num_eval * batch_size,), the batches of
        consecutive points in order. ``meta``: ``"train_factor"`` (num_train,) and
        ``"eval_factor"`` (num_eval,) int64, the factor each point holds fixed (uniform over
        factors), and ``"num_factors"`` (a 0-d int array).

    Notes
    -----
    Each point draws a factor k and a base row uniformly, then ``batch_size`` rows that
    share the base row's value of k, their other factors drawn uniformly (on a grid) or
    uniformly among the stored rows with that value (on a labelled sample, where a value
    held by fewer than 2 rows raises the sampler's ``ValueError``). Everything is drawn in
    one call to the sampler per part, in the order variance, train, eval: changing
    ``num_eval`` leaves the training rows as they were.

    References
    ----------
    H. Kim, A. Mnih 2018, arXiv:1802.05983. google-research/disentanglement_lib (read at
    76f41e3), ``evaluation/metrics/factor_vae.py`` (``_compute_variances``,
    ``_generate_training_sample``) with the study's ``factor_vae_score`` bindings:
    ``batch_size = 64``, ``num_train = 10000``, ``num_eval = 5000``,
    ``num_variance_estimate = 10000``.

    Known differences
    -----------------
    - disentanglement_lib holds k at the value of the first row of the batch, itself part
      of the batch; here a base row outside the batch gives the value. The batch's rows
      have the same distribution either way (on a grid and on a labelled sample).
    - Draws come from a numpy ``Generator``, not a ``RandomState``: the same distribution,
      other numbers for a given seed.
    - On a labelled sample the held value follows the stored rows' frequencies (a uniform
      base row); Carbonneau et al. draw it uniformly among the values with at least 2 rows
      and fill each batch without replacement.

    Examples
    --------
    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_min_var_plan(sampler, batch_size=8, num_train=50, num_eval=20,
    ...                       num_variance_estimate=100)
    >>> {name: rows.shape for name, rows in plan.rows.items()}
    {'variance': (100,), 'train': (400,), 'eval': (160,)}
    >>> batch = sampler.factors(plan.rows["train"][:8])      # the first point's batch
    >>> k = plan.meta["train_factor"][0]
    >>> bool((batch[:, k] == batch[0, k]).all())
    True
    """
    return variance_plan(
        sampler,
        metric="z_min_var",
        vary_one=False,
        batch_size=batch_size,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance_estimate,
        rng=rng,
    )


def z_min_var(
    variance: Any,
    train: Any,
    eval: Any,
    train_factor: Any,
    eval_factor: Any,
    num_factors: Any,
    *,
    batch_size: int = 64,
    prune_threshold: float = 0.05,
    rescale: bool = False,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """The FactorVAE score: majority-vote accuracy of "the code of least relative variance".

    Parameters
    ----------
    variance : array-like or torch.Tensor of shape (n_rows, n_codes)
        Codes of random rows (the plan's ``"variance"``), for the global variances.
    train, eval : array-like or torch.Tensor of shape (num_points * batch_size, n_codes)
        Codes of the training and evaluation batches, point after point.
    train_factor, eval_factor : array-like of int, shape (num_points,)
        The factor each point held fixed.
    num_factors : int
        K, the number of factors (>= 2).
    batch_size : int, default=64
        Rows per point, as in the plan.
    prune_threshold : float, default=0.05
        Codes whose global standard deviation is below it are inactive (dlib's
        ``prune_dims.threshold`` of the study).
    rescale : bool, default=False
        Report Carbonneau et al.'s (acc - 1/K) / (1 - 1/K) instead of the accuracies.
    rng : int, numpy.random.Generator or None, default=0
        Unused: the computation draws nothing. Accepted so that the evaluate pipeline
        passes its generator to every interventional computation alike.

    Returns
    -------
    MetricResult
        ``scores``: ``"train_accuracy"`` and ``"eval_accuracy"`` in [0, 1] (chance 1/K;
        rescaled, chance 0), ``"num_active_dims"`` the number of active codes. ``arrays``:
        ``"global_variance"`` (n_codes,), ``"active"`` (n_codes,) bool, ``"train_votes"``
        and ``"eval_votes"`` (n_codes, K) vote counts, ``"classifier"`` (n_codes,) the factor
        each code predicts (absent with no active code). ``notes`` name the inactive codes.

    Notes
    -----
    With s_j^2 the variance (ddof=1) of code j over the ``variance`` rows, the active codes
    are those with s_j >= ``prune_threshold`` (and s_j > 0). A point that held factor k
    fixed in a batch votes

    .. math:: j^* = \\arg\\min_{j \\text{ active}}
              \\widehat{\\mathrm{Var}}_\\text{batch}(z_j) / s_j^2

    (ddof=1; the first code on a tie). The votes fill a table V (n_codes, K); the
    classifier maps code j to argmax_k V_jk over the training votes (the first factor on a
    tie, factor 0 for a code without votes), and an accuracy is
    sum_j V_{j, c(j)} / sum V on the training table, and with the same classifier on the
    evaluation table. A perfectly disentangled code scores 1, codes blind to the factors
    about 1/K on evaluation (training is biased upward by fitting the classifier to the
    same votes). With no active code both accuracies are 0 and a note says so.

    References
    ----------
    H. Kim, A. Mnih 2018, arXiv:1802.05983, section 4. google-research/disentanglement_lib
    (read at 76f41e3), ``evaluation/metrics/factor_vae.py::compute_factor_vae``, with
    ``prune_dims.threshold = 0.05`` as in its study. ``rescale``: M.-A. Carbonneau et al.,
    "Measuring disentanglement: a review of metrics", IEEE TNNLS 2022, arXiv:2012.09276,
    and ubisoft/ubisoft-laforge-disentanglement-metrics ``src/metrics/z_min_var.py``
    (``scale=True``; their variant also uses ``batch_size=200``, 800 training and 800
    evaluation points).

    Known differences
    -----------------
    - disentanglement_lib's vote is the position of the code among the active codes,
      counted in a table as wide as all codes; here it is the code's own index. The
      accuracies are the same (the columns are only relabelled); the tables differ when a
      code is inactive.
    - disentanglement_lib reports ``num_active_dims = len(active_dims)`` of a boolean mask,
      i.e. the number of all codes; here it is the number of active codes.
    - A code of variance 0 is inactive even with ``prune_threshold=0`` (disentanglement_lib's
      default ``_prune_dims`` threshold), where disentanglement_lib divides 0 by 0.
    - Codes are converted to float64 (disentanglement_lib takes the encoder's dtype).
    - Carbonneau et al. take the global variances from the first 10,000 rows of their
      shuffled data and fail when no code is active; with ``rescale=True`` and no active
      code both scores here are 0, as without.

    Examples
    --------
    >>> import numpy as np
    >>> varying, held = np.arange(4.0), np.ones(4)
    >>> hold_0 = np.stack([held, varying], axis=1)    # a batch of 4: code 0 still
    >>> hold_1 = np.stack([varying, held], axis=1)    # code 1 still
    >>> train, labels = np.concatenate([hold_0, hold_1]), np.array([0, 1])
    >>> variance = np.random.default_rng(0).normal(size=(100, 2))
    >>> z_min_var(variance, train, train, labels, labels, 2, batch_size=4).scores
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0, 'num_active_dims': 2.0}

    Through a plan, codes equal to the factors (as the encoder of a perfect model):

    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_min_var_plan(sampler, batch_size=16, num_train=200, num_eval=100)
    >>> codes = {name: sampler.factors(rows) * 1.0 for name, rows in plan.rows.items()}
    >>> z_min_var(**codes, **plan.meta, batch_size=16).scores
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0, 'num_active_dims': 3.0}
    """
    return variance_vote_metric(
        variance,
        train,
        eval,
        train_factor,
        eval_factor,
        num_factors,
        metric="z_min_var",
        largest=False,
        count_active=True,
        batch_size=batch_size,
        prune_threshold=prune_threshold,
        rescale=rescale,
    )
