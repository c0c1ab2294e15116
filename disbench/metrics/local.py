"""Local MIG and local modularity: MIG and modularity inside small neighbourhoods of factor
space.

T. Rhodes and D. D. Lee, "Local disentanglement in variational auto-encoders using Jacobian
L1 regularization", NeurIPS 2021, arXiv:2106.02923; code travers-rhodes/jlonevae.

A representation can be disentangled locally (near each point, each code follows one
factor) while its axes turn from one region of factor space to another, which global MIG
and modularity count as entanglement. The local metrics draw ``num_local_clusters``
neighbourhoods, each around a random centre with the ordered factors varying within a
small radius of it, and average MIG (modularity) computed inside each one.

``local_plan`` draws the neighbourhoods' rows from a ``FactorSampler`` (grids only);
``local_mig`` and ``local_modularity`` are pure functions of the codes of those rows, their
factor values and neighbourhood labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from disbench._validation import check_positive_int
from disbench.estimators import entropy, mutual_information
from disbench.metrics._utils import as_numpy, check_codes_factors, single_valued, top_two_gap
from disbench.metrics.modularity import _modularity_per_code
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan

#: Factors held at the centre's value by default, by data set name: unordered categories,
#: for which a "neighbourhood" of values means nothing (Rhodes & Lee's
#: ``local_sample_factors.denylist_factors`` of each data set's gin file).
FIXED_FACTORS: dict[str, tuple[str, ...]] = {
    "dsprites": ("shape",),
    "cars3d": ("object",),
    "mpi3d_toy": ("object_color", "object_shape", "background_color"),
    "mpi3d_realistic": ("object_color", "object_shape", "background_color"),
    "mpi3d_real": ("object_color", "object_shape", "background_color"),
}

_METRICS = "local_mig and local_modularity"


def local_plan(
    sampler: FactorSampler,
    *,
    num_local_clusters: int = 20,
    num_points: int = 10_000,
    locality_proportion: float = 0.1,
    continuity_cutoff: int = 10,
    fixed_factors: Sequence[str] | None = None,
    rng: int | np.random.Generator | None = 0,
) -> InterventionPlan:
    """The rows of ``num_local_clusters`` neighbourhoods of factor space (for ``local_mig``
    and ``local_modularity``).

    Parameters
    ----------
    sampler : FactorSampler
        The data set's sampler; it must be a grid (``sampler.is_grid``): neighbourhoods ask
        for factor combinations by value.
    num_local_clusters : int, default=20
        Number of neighbourhoods.
    num_points : int, default=10000
        Rows drawn in each neighbourhood.
    locality_proportion : float, default=0.1
        Radius of a neighbourhood as a fraction of each factor's number of values: factor k
        varies within ± floor(size_k · locality_proportion) of the centre. In (0, 1].
    continuity_cutoff : int, default=10
        Factors with fewer values than this are taken as unordered and held at the
        centre's value.
    fixed_factors : sequence of str, default=None
        Names of factors held at the centre's value whatever their size (unordered
        categories). ``None``: ``FIXED_FACTORS[sampler.name]``, none for a data set not
        listed there; ``()`` holds none.
    rng : int, numpy.random.Generator or None, default=0
        Seeds the centres and the rows.

    Returns
    -------
    InterventionPlan
        ``rows["codes"]``: the ``num_local_clusters · num_points`` rows to encode,
        neighbourhood after neighbourhood. ``meta["factors"]``: their factor values, int64
        (n, K); ``meta["neighbourhood"]``: int64 (n,), the neighbourhood of each row,
        0 .. num_local_clusters - 1.

    Notes
    -----
    Each neighbourhood has a centre c drawn uniformly from the grid. Factor k varies when
    size_k ≥ ``continuity_cutoff``, it is not a fixed factor and its radius
    r_k = floor(size_k · ``locality_proportion``) is at least 1; its values are drawn
    uniformly and independently from max(0, c_k − r_k) .. min(size_k − 1, c_k + r_k)
    (a neighbourhood at an edge of the grid is clipped, not shifted). Every other factor
    takes the value c_k in the whole neighbourhood. All rows are drawn in one call.

    References
    ----------
    Rhodes & Lee 2021, arXiv:2106.02923, section 5. travers-rhodes/jlonevae @2ad8a5f,
    ``disentanglement_lib/evaluation/metrics/utils.py``:
    ``generate_local_batch_factor_code``, ``local_sample_factors`` and
    ``sample_integers_around_center``; defaults from @ce21118
    ``jlonevae_lib/config/metrics_configs/local_mig_base.gin`` (20 clusters of 10,000
    rows, cutoff 10, 5 bins), ``local_mig_0_1.gin`` (proportion 0.1) and the
    ``denylist_factors`` of ``jlonevae_lib/config/dataset_configs/*.gin``.

    Known differences
    -----------------
    - The draws come from a ``numpy.random.Generator`` in one call, not from a
      ``RandomState`` batch of 16 rows at a time: the neighbourhoods are distributed alike,
      the rows are not the same ones.
    - Rhodes & Lee list the held factors by index and only for ``mpi3d_real``; here by name,
      and for the other two MPI3D variants too (same factors). At the default cutoff all
      three have fewer than 10 values and are held anyway.
    - A labelled sample is refused with ``ValueError``; the reference assumes a grid.

    Examples
    --------
    >>> import numpy as np
    >>> from disbench.benchmark.datasets.toy import Toy
    >>> from disbench.benchmark.sampling import sampler_for
    >>> plan = local_plan(sampler_for(Toy(factor_sizes=(20, 30, 4))),
    ...                   num_local_clusters=3, num_points=100)
    >>> plan.rows["codes"].shape, plan.meta["factors"].shape
    ((300,), (300, 3))
    >>> first = plan.meta["factors"][plan.meta["neighbourhood"] == 0]
    >>> (np.ptp(first, axis=0) <= [4, 6, 0]).tolist()   # radii 2, 3; factor 2 held
    [True, True, True]
    """
    num_local_clusters = check_positive_int(num_local_clusters, "num_local_clusters")
    num_points = check_positive_int(num_points, "num_points")
    continuity_cutoff = check_positive_int(continuity_cutoff, "continuity_cutoff")
    if (
        isinstance(locality_proportion, bool)
        or not isinstance(locality_proportion, (int, float, np.integer, np.floating))
        or not 0 < locality_proportion <= 1
    ):
        raise ValueError(
            f"locality_proportion must be a number in (0, 1]; got {locality_proportion!r}"
        )
    if not sampler.is_grid:
        raise ValueError(
            f"{_METRICS} need a complete factor grid (they ask for factor combinations near a "
            f"centre by value); {sampler.name!r} is a labelled sample"
        )
    sizes = np.asarray(sampler.factor_sizes, dtype=np.int64)
    held = _held_factors(sampler, fixed_factors)
    radius = np.floor(sizes * float(locality_proportion)).astype(np.int64)
    radius[(sizes < continuity_cutoff) | held] = 0
    if not radius.any():
        raise ValueError(
            f"{_METRICS}: no factor of {sampler.name!r} varies in a neighbourhood (sizes "
            f"{sizes.tolist()}, continuity_cutoff={continuity_cutoff}, locality_proportion="
            f"{locality_proportion}, held {np.asarray(sampler.factor_names)[held].tolist()}); "
            "lower continuity_cutoff or raise locality_proportion"
        )

    generator = np.random.default_rng(rng)
    centres = generator.integers(0, sizes, size=(num_local_clusters, sizes.size), dtype=np.int64)
    low = np.maximum(centres - radius, 0)[:, None, :]
    high = np.minimum(centres + radius, sizes - 1)[:, None, :]
    factors = generator.integers(
        low,
        high,
        size=(num_local_clusters, num_points, sizes.size),
        dtype=np.int64,
        endpoint=True,
    ).reshape(-1, sizes.size)
    neighbourhood = np.repeat(np.arange(num_local_clusters, dtype=np.int64), num_points)
    return InterventionPlan(
        rows={"codes": sampler.rows(factors)},
        meta={"factors": factors, "neighbourhood": neighbourhood},
    )


def local_mig(codes: Any, factors: Any, neighbourhood: Any, *, num_bins: int = 5) -> MetricResult:
    """Local MIG: the mean over neighbourhoods of the MIG inside each one.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation of the rows (``local_plan``'s ``rows["codes"]``). float32 codes
        are binned in float32, as numpy and so the reference bin them.
    factors : array-like of shape (n_samples, n_factors), int
        The rows' factor values (``meta["factors"]``); each value is a class.
    neighbourhood : array-like of shape (n_samples,), int
        The neighbourhood of each row (``meta["neighbourhood"]``); any integer labels.
    num_bins : int, default=5
        Bins of the histogram discretiser of the codes, applied in each neighbourhood.

    Returns
    -------
    MetricResult
        ``scores["local_mig"]``, in [0, 1]. ``arrays`` (L neighbourhoods, in increasing
        label order, D codes, K factors): ``"neighbourhoods"`` (L,) the labels;
        ``"per_neighbourhood"`` (L,) each one's MIG, NaN where no factor varies;
        ``"gap"`` (L, K) each factor's normalised gap, NaN where skipped;
        ``"per_factor"`` (K,) a factor's gap averaged over the neighbourhoods that scored
        it, NaN if none did; ``"mi_matrix"`` (L, D, K) in nats; ``"factor_entropy"``
        (L, K) in nats. ``notes`` say which factors and neighbourhoods were skipped.

    Notes
    -----
    In neighbourhood l, each code is binned by disentanglement_lib's histogram rule over
    its range in that neighbourhood, I_l(z_j; v_k) is the plug-in mutual information in
    nats (factor values as classes) and H_l(v_k) the plug-in entropy. With V_l the
    factors that take more than one value in l,

    .. math:: \\mathrm{MIG}_l = \\frac{1}{|V_l|} \\sum_{k \\in V_l}
              \\frac{I_l(z_{j^{(1)}}; v_k) - I_l(z_{j^{(2)}}; v_k)}{H_l(v_k)},
              \\qquad \\mathrm{local\\ MIG} = \\frac{1}{L'} \\sum_l \\mathrm{MIG}_l

    (j^(1), j^(2) the codes of largest and second-largest MI with v_k; a single code's
    gap is its MI), over the L' neighbourhoods where some factor varies. A factor with
    zero local entropy (held at the centre's value, or too small to vary) has a gap 0/0:
    it is skipped, never averaged. A neighbourhood where no factor varies is skipped with
    a note; if none has a varying factor, ``ValueError``.

    Ceiling: a code that copies a factor with m local values carries at most the entropy
    of its ``num_bins`` bins, so its gap is at most H(binned v_k) / H(v_k), below 1 when
    m > ``num_bins``. With the defaults a 64-valued factor (radius 6, 13 values away from
    the edges) caps at about 0.62; a 20- to 29-valued one (radius 2, 5 values) at 1.

    References
    ----------
    Rhodes & Lee 2021, arXiv:2106.02923, section 5. travers-rhodes/jlonevae @2ad8a5f,
    ``disentanglement_lib/evaluation/metrics/local_mig.py::compute_local_mig`` with
    ``mig.py::_compute_mig`` (``discretizer.num_bins = 5``, histogram discretiser): the
    mean over clusters of each cluster's MIG.

    Known differences
    -----------------
    - The reference divides each gap by H(v_k) with ``np.divide(..., out=np.zeros_like(h)
      .fill(np.nan), where=h != 0)``; ``fill`` returns None, so the entries of zero-entropy
      factors are uninitialised memory, which ``np.nanmean`` then averages in unless they
      happen to be NaN. Here they are skipped. Where every factor varies the numbers agree
      to 1e-12 (tests/metrics/test_local.py).
    - The reference's score key is ``discrete_mig`` (per-cluster values
      ``local_discrete_migs_samples``); here ``local_mig`` and ``per_neighbourhood``.
    - Sampling and encoding are ``local_plan``'s and the pipeline's jobs.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.arange(5)
    >>> factors = np.concatenate([np.stack([v, 0 * v + 7], 1),     # neighbourhood 0: v0 varies
    ...                           np.stack([0 * v + 3, v], 1)])    # neighbourhood 1: v1 varies
    >>> neighbourhood = np.repeat([0, 1], 5)
    >>> result = local_mig(factors.astype(float), factors, neighbourhood)
    >>> result["local_mig"], result.arrays["per_factor"].tolist()
    (1.0, [1.0, 1.0])
    >>> result.arrays["gap"].tolist()                           # held factors are skipped
    [[1.0, nan], [nan, 1.0]]
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    labels, mi, factor_entropy, varying = _local_information(
        codes, factors, neighbourhood, num_bins=num_bins, metric="local_mig"
    )
    gap = np.full(factor_entropy.shape, np.nan)
    for i, kept in enumerate(varying):  # over the neighbourhoods (20 by default)
        gap[i, kept] = top_two_gap(mi[i][:, kept], axis=0) / factor_entropy[i, kept]
    per_neighbourhood = _mean_where(gap, varying, axis=1)
    scored = varying.any(axis=1)
    return MetricResult(
        name="local_mig",
        scores={"local_mig": float(np.mean(per_neighbourhood[scored]))},
        arrays={
            "neighbourhoods": labels,
            "per_neighbourhood": per_neighbourhood,
            "gap": gap,
            "per_factor": _mean_where(gap, varying, axis=0),
            "mi_matrix": mi,
            "factor_entropy": factor_entropy,
        },
        params={"num_bins": num_bins, "num_neighbourhoods": int(labels.size)},
        notes=_skip_notes(varying),
    )


def local_modularity(
    codes: Any, factors: Any, neighbourhood: Any, *, num_bins: int = 5
) -> MetricResult:
    """Local modularity: the mean over neighbourhoods of Ridgeway & Mozer's modularity
    inside each one.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation of the rows (``local_plan``'s ``rows["codes"]``).
    factors : array-like of shape (n_samples, n_factors), int
        The rows' factor values (``meta["factors"]``); each value is a class.
    neighbourhood : array-like of shape (n_samples,), int
        The neighbourhood of each row (``meta["neighbourhood"]``); any integer labels.
    num_bins : int, default=5
        Bins of the histogram discretiser of the codes, applied in each neighbourhood.

    Returns
    -------
    MetricResult
        ``scores["local_modularity"]``, in [0, 1]. ``arrays`` (L neighbourhoods in
        increasing label order, D codes, K factors): ``"neighbourhoods"`` (L,);
        ``"per_neighbourhood"`` (L,) each one's modularity, NaN where no factor varies;
        ``"modularity"`` (L, D) each code's, NaN in a skipped neighbourhood;
        ``"per_code"`` (D,) a code's mean over the scored neighbourhoods;
        ``"mi_matrix"`` (L, D, K) in nats; ``"factor_entropy"`` (L, K) in nats.

    Notes
    -----
    In neighbourhood l, with I_l the plug-in MI matrix of ``local_mig`` restricted to the
    K_l factors that vary in l, and k* code j's most informative of them,

    .. math:: \\mathrm{mod}_{lj} = 1 - \\frac{\\sum_{k \\ne k^*} I_l(z_j; v_k)^2}
              {I_l(z_j; v_{k^*})^2 (K_l - 1)}

    (``disbench.metrics.modularity``'s arithmetic, disentanglement_lib's: 0 for a code
    with no information about the varying factors, 1 for an informative code when
    K_l = 1). The neighbourhood's modularity is the mean over codes, and local modularity
    the mean over the neighbourhoods where some factor varies.

    Two properties of the definition, kept as they are: a code that is constant in a
    neighbourhood (one that copies a held factor, say) scores 0 there, so a perfect
    representation of a data set with held factors scores below 1; and modularity has no
    chance level of 0 — for codes independent of the factors the plug-in MI is bias
    alone, of random sizes, and each code looks modular to its luckiest factor.

    References
    ----------
    Rhodes & Lee 2021, arXiv:2106.02923. travers-rhodes/jlonevae @2ad8a5f,
    ``disentanglement_lib/evaluation/metrics/local_modularity.py::
    compute_local_modularity`` with ``modularity_explicitness.py::modularity``.
    K. Ridgeway and M. C. Mozer, NeurIPS 2018, arXiv:1802.05312.

    Known differences
    -----------------
    - The reference keeps the factors that do not vary in a neighbourhood in the MI
      matrix: their column is 0, which adds nothing to the numerator but counts in
      K − 1. Here K_l counts the varying factors only, so a code that spreads evenly over
      the varying factors scores 0, not (K − K_l) / (K − 1). Where the same K' factors
      vary in every neighbourhood and every code carries some information there, the
      reference's number is 1 − (1 − local_modularity) (K' − 1) / (K − 1); where all
      vary (three-dots) the two agree to 1e-12 (tests/metrics/test_local.py).
    - The reference's key is ``modularity_score`` (per-cluster values
      ``local_modularity_scores_samples``); here ``local_modularity``.

    Examples
    --------
    >>> import numpy as np
    >>> v0, v1 = np.indices((3, 3)).reshape(2, -1)            # a 3 x 3 grid, v2 held at 5
    >>> factors = np.stack([v0, v1, 0 * v0 + 5], 1)
    >>> codes = np.stack([v0, v1, v0 + v1], 1).astype(float)   # z2 mixes v0 and v1
    >>> result = local_modularity(codes, factors, np.zeros(9, dtype=int))
    >>> result.arrays["modularity"].round(12).tolist()
    [[1.0, 1.0, 0.0]]
    >>> round(result["local_modularity"], 12)
    0.666666666667
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    labels, mi, factor_entropy, varying = _local_information(
        codes, factors, neighbourhood, num_bins=num_bins, metric="local_modularity"
    )
    modularity = np.full(mi.shape[:2], np.nan)
    for i, kept in enumerate(varying):  # over the neighbourhoods (20 by default)
        if kept.any():
            modularity[i] = _modularity_per_code(mi[i][:, kept])
    scored = varying.any(axis=1)
    per_neighbourhood = np.full(labels.size, np.nan)
    per_neighbourhood[scored] = modularity[scored].mean(axis=1)
    return MetricResult(
        name="local_modularity",
        scores={"local_modularity": float(np.mean(per_neighbourhood[scored]))},
        arrays={
            "neighbourhoods": labels,
            "per_neighbourhood": per_neighbourhood,
            "modularity": modularity,
            "per_code": modularity[scored].mean(axis=0),
            "mi_matrix": mi,
            "factor_entropy": factor_entropy,
        },
        params={"num_bins": num_bins, "num_neighbourhoods": int(labels.size)},
        notes=_skip_notes(varying),
    )


def _held_factors(sampler: FactorSampler, fixed_factors: Sequence[str] | None) -> np.ndarray:
    """Boolean (K,) mask of the factors named in ``fixed_factors`` (or the table's entry)."""
    names = tuple(sampler.factor_names)
    if fixed_factors is None:
        fixed_factors, origin = FIXED_FACTORS.get(sampler.name, ()), "FIXED_FACTORS"
    else:
        origin = "fixed_factors"
        if isinstance(fixed_factors, str) or not all(
            isinstance(name, str) for name in fixed_factors
        ):
            raise TypeError(
                f"fixed_factors must be a sequence of factor names, e.g. ('shape',); "
                f"got {fixed_factors!r}"
            )
    unknown = [name for name in fixed_factors if name not in names]
    if unknown:
        raise ValueError(
            f"{_METRICS}: {origin} names factors {unknown} that {sampler.name!r} does not "
            f"have; its factors are {list(names)} (pass fixed_factors explicitly)"
        )
    return np.isin(np.asarray(names, dtype=object), list(fixed_factors))


def _local_information(
    codes: Any, factors: Any, neighbourhood: Any, *, num_bins: int, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate, then estimate inside each neighbourhood.

    Returns the sorted neighbourhood labels (L,), the MI matrices (L, D, K) in nats, the
    factor entropies (L, K) in nats and the mask (L, K) of the factors that vary in each
    neighbourhood (more than one value; the others' MI and entropy are 0). Raises
    ``ValueError`` for bad arrays and when no factor varies anywhere.
    """
    codes, factors = check_codes_factors(codes, factors, metric=metric, keep_float32=True)
    neighbourhood = np.asarray(as_numpy(neighbourhood))
    if neighbourhood.ndim != 1 or neighbourhood.shape[0] != codes.shape[0]:
        raise ValueError(
            f"{metric}: neighbourhood must be 1-D with one label per row of codes "
            f"({codes.shape[0]}); got shape {neighbourhood.shape}"
        )
    if not np.issubdtype(neighbourhood.dtype, np.integer):
        raise TypeError(
            f"{metric}: neighbourhood must hold integer labels; got dtype {neighbourhood.dtype}"
        )
    labels, group = np.unique(neighbourhood, return_inverse=True)
    n_codes, n_factors = codes.shape[1], factors.shape[1]
    mi = np.zeros((labels.size, n_codes, n_factors))
    factor_entropy = np.zeros((labels.size, n_factors))
    varying = np.zeros((labels.size, n_factors), dtype=bool)
    order = np.argsort(group, kind="stable")
    bounds = np.cumsum(np.bincount(group, minlength=labels.size))[:-1]
    for i, rows in enumerate(np.split(order, bounds)):  # over the neighbourhoods
        local_factors = factors[rows]
        varying[i] = ~single_valued(local_factors)
        if varying[i].any():
            # The codes are binned over their range in this neighbourhood, as the reference.
            mi[i] = mutual_information(codes[rows], local_factors, num_bins=num_bins)
            factor_entropy[i] = entropy(local_factors)
    if not varying.any():
        raise ValueError(
            f"{metric} is undefined: no factor takes more than one value in any "
            "neighbourhood; each neighbourhood needs a factor that varies"
        )
    # Exact zeros where nothing varies (a computed entropy may be ~1e-16).
    factor_entropy[~varying] = 0.0
    return labels, mi, factor_entropy, varying


def _mean_where(values: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """Mean of ``values`` over ``axis`` where ``mask``; NaN where the mask is empty."""
    count = mask.sum(axis=axis)
    total = np.where(mask, values, 0.0).sum(axis=axis)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _skip_notes(varying: np.ndarray) -> tuple[str, ...]:
    """Which factors were skipped in how many neighbourhoods, and which neighbourhoods."""
    n = varying.shape[0]
    notes = [
        f"factor {k} skipped in {count} of {n} neighbourhoods: it takes a single value there"
        for k, count in enumerate((~varying).sum(axis=0))
        if count
    ]
    empty = np.flatnonzero(~varying.any(axis=1))
    if empty.size:
        notes.append(
            f"neighbourhoods {empty.tolist()} (in label order) skipped: no factor varies there"
        )
    return tuple(notes)
