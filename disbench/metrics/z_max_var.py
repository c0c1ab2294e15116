"""The Z-max-var score: which code varies most when only one factor varies.

Proposed by M. Kim, Y. Wang, P. Sahu, V. Pavlovic, "Relevance factor VAE: learning and
identifying disentangled factors", arXiv:1902.01568, 2019. Reproduced here as described and
implemented by M.-A. Carbonneau, J. Zaidi, J. Boilard, G. Gagnon, "Measuring
disentanglement: a review of metrics", IEEE TNNLS 2022, arXiv:2012.09276
(ubisoft/ubisoft-laforge-disentanglement-metrics, ``src/metrics/z_max_var.py``).

An interventional metric in two parts (``disbench.metrics.sampling``): ``z_max_var_plan``
draws the rows to encode from a ``FactorSampler``; ``z_max_var`` computes the score from
their codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.metrics._intervention import variance_plan, variance_vote_metric
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan


def z_max_var_plan(
    sampler: FactorSampler,
    *,
    batch_size: int = 200,
    num_train: int = 800,
    num_eval: int = 800,
    num_variance_estimate: int = 10_000,
    rng: int | np.random.Generator | None = 0,
) -> InterventionPlan:
    """The rows Z-max-var observes: global-variance rows and batches where one factor varies.

    Parameters
    ----------
    sampler : FactorSampler
        The data set's sampler (``disbench.benchmark.sampling.sampler_for``); it needs at
        least 2 factors.
    batch_size : int, default=200
        Rows per point (>= 2), sharing every factor value but that of the point's factor.
    num_train, num_eval : int, default=800, 800
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
        ``"eval_factor"`` (num_eval,) int64, the factor each point lets vary (uniform over
        factors), and ``"num_factors"`` (a 0-d int array).

    Notes
    -----
    Each point draws a factor k and a base row uniformly, then ``batch_size`` rows with the
    base row's values of every factor but k; k is drawn uniformly (on a grid) or uniformly
    among the stored rows that share the other values (on a labelled sample). A labelled
    sample rarely holds 2 rows for every combination of K - 1 factors: the sampler then
    raises ``ValueError`` saying which combination was too rare.

    The defaults are Carbonneau et al.'s: batches of 200, 800 training and 800 evaluation
    points, global variances from 10,000 rows.

    References
    ----------
    M. Kim et al. 2019, arXiv:1902.01568. M.-A. Carbonneau et al. 2022, arXiv:2012.09276,
    and ubisoft/ubisoft-laforge-disentanglement-metrics (read at 05d5667)
    ``src/metrics/z_max_var.py`` (``batch_size=200``, ``nb_training=800``, ``nb_eval=800``,
    ``nb_variance_estimate=10000``).

    Known differences
    -----------------
    - Carbonneau et al. work on a table of codes: the held values are drawn uniformly
      among the value combinations that occur at least twice, and each batch is filled
      from the matching rows without replacement (cycling through them). Here the held
      values come from a uniform row (on a grid the same thing; on a labelled sample they
      follow the rows' frequencies), the varying factor is drawn with replacement, and a
      combination held by a single row raises an error instead of being avoided.
    - Their global variances come from the first 10,000 rows of the same shuffled table;
      here from rows drawn for the purpose.
    - Draws come from a numpy ``Generator``, not the global numpy and ``random`` state.

    Examples
    --------
    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_max_var_plan(sampler, batch_size=8, num_train=50, num_eval=20,
    ...                       num_variance_estimate=100)
    >>> {name: rows.shape for name, rows in plan.rows.items()}
    {'variance': (100,), 'train': (400,), 'eval': (160,)}
    >>> batch = sampler.factors(plan.rows["train"][:8])      # the first point's batch
    >>> others = np.arange(3) != plan.meta["train_factor"][0]
    >>> bool((batch[:, others] == batch[0, others]).all())
    True
    """
    return variance_plan(
        sampler,
        metric="z_max_var",
        vary_one=True,
        batch_size=batch_size,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance_estimate,
        rng=rng,
    )


def z_max_var(
    variance: Any,
    train: Any,
    eval: Any,
    train_factor: Any,
    eval_factor: Any,
    num_factors: Any,
    *,
    batch_size: int = 200,
    prune_threshold: float = 0.05,
    rescale: bool = False,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """Z-max-var: majority-vote accuracy of "the code of greatest relative variance".

    Parameters
    ----------
    variance : array-like or torch.Tensor of shape (n_rows, n_codes)
        Codes of random rows (the plan's ``"variance"``), for the global variances.
    train, eval : array-like or torch.Tensor of shape (num_points * batch_size, n_codes)
        Codes of the training and evaluation batches, point after point.
    train_factor, eval_factor : array-like of int, shape (num_points,)
        The factor that varied in each point's batch.
    num_factors : int
        K, the number of factors (>= 2).
    batch_size : int, default=200
        Rows per point, as in the plan.
    prune_threshold : float, default=0.05
        Codes whose global standard deviation is below it are inactive (Carbonneau et al.'s
        ``std_threshold``).
    rescale : bool, default=False
        Report Carbonneau et al.'s (acc - 1/K) / (1 - 1/K) (their ``scale=True``) instead
        of the accuracies.
    rng : int, numpy.random.Generator or None, default=0
        Unused: the computation draws nothing. Accepted so that the evaluate pipeline
        passes its generator to every interventional computation alike.

    Returns
    -------
    MetricResult
        ``scores``: ``"train_accuracy"`` and ``"eval_accuracy"`` in [0, 1] (chance 1/K;
        rescaled, chance 0). ``arrays``: ``"global_variance"`` (n_codes,), ``"active"``
        (n_codes,) bool, ``"train_votes"`` and ``"eval_votes"`` (n_codes, K) vote counts,
        ``"classifier"`` (n_codes,) the factor each code predicts (absent with no active
        code). ``notes`` name the inactive codes.

    Notes
    -----
    With s_j^2 the variance (ddof=1) of code j over the ``variance`` rows, the active codes
    are those with s_j >= ``prune_threshold`` (and s_j > 0). A point whose batch varied
    factor k only votes

    .. math:: j^* = \\arg\\max_{j \\text{ active}}
              \\widehat{\\mathrm{Var}}_\\text{batch}(z_j) / s_j^2

    (ddof=1; the first code on a tie). The majority-vote classifier and the accuracies are
    those of ``z_min_var``: code j predicts argmax_k V_jk of the training vote table, and
    an accuracy is the share of a table's votes it gets right. Where z_min_var asks which
    code a fixed factor leaves still, this asks which code a single varying factor moves.
    A factor that moves no code votes for whatever the encoder's noise moves most (the
    first active code on an exact tie). A noise-free mixture can score 1: a factor varied
    alone always moves the same code most, so only factors whose largest relative
    loadings fall on the same code are confused. With no active code both accuracies are 0
    and a note says so.

    References
    ----------
    M. Kim et al. 2019, arXiv:1902.01568. M.-A. Carbonneau et al. 2022, arXiv:2012.09276,
    and ubisoft/ubisoft-laforge-disentanglement-metrics (read at 05d5667)
    ``src/metrics/z_max_var.py::z_max_var`` with ``continuous_factors=False``.

    Known differences
    -----------------
    - Carbonneau et al. rescale by default (``scale=True``); here ``rescale=False`` by
      default, so that the three classifier scores report accuracies alike.
    - Their function returns the evaluation accuracy only; both are reported here.
    - Their vote is the position of the code among the active codes (as in
      disentanglement_lib's FactorVAE score); here the code's own index. The accuracies
      are the same.
    - Their ``continuous_factors=True`` default first bins each factor into 3 bins; here
      factors are the sampler's classes.
    - With no active code their arg-max fails; here both scores are 0 with a note. A code
      of variance 0 is inactive at any ``prune_threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> varying, held = np.arange(4.0), np.ones(4)
    >>> vary_0 = np.stack([varying, held], axis=1)    # a batch of 4: only code 0 moves
    >>> vary_1 = np.stack([held, varying], axis=1)
    >>> train, labels = np.concatenate([vary_0, vary_1]), np.array([0, 1])
    >>> variance = np.random.default_rng(0).normal(size=(100, 2))
    >>> z_max_var(variance, train, train, labels, labels, 2, batch_size=4).scores
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0}

    Through a plan, codes equal to the factors (as the encoder of a perfect model):

    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))
    >>> plan = z_max_var_plan(sampler, batch_size=16, num_train=200, num_eval=100)
    >>> codes = {name: sampler.factors(rows) * 1.0 for name, rows in plan.rows.items()}
    >>> z_max_var(**codes, **plan.meta, batch_size=16, rescale=True).scores
    {'train_accuracy': 1.0, 'eval_accuracy': 1.0}
    """
    return variance_vote_metric(
        variance,
        train,
        eval,
        train_factor,
        eval_factor,
        num_factors,
        metric="z_max_var",
        largest=True,
        count_active=False,
        batch_size=batch_size,
        prune_threshold=prune_threshold,
        rescale=rescale,
    )
