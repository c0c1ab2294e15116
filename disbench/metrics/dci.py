"""DCI: disentanglement, completeness and informativeness.

C. Eastwood, C. K. I. Williams, "A framework for the quantitative evaluation of disentangled
representations", ICLR 2018, https://openreview.net/forum?id=By-7dz-AZ, as implemented in
disentanglement_lib (``evaluation/metrics/dci.py``).

One predictor per factor learns the factor from all codes; the predictor's feature
importances form the importance matrix R (n_codes, n_factors). Disentanglement asks whether
each code matters for one factor only (the entropy of its row), completeness whether each
factor is captured by one code only (the entropy of its column), informativeness how well the
factor is predicted. The per-factor fits are independent, so they run in parallel
(``n_jobs``); everything else is a few array operations on R.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.stats

from disbench._validation import check_choice
from disbench.metrics._utils import (
    check_codes_factors,
    check_same_codes,
    single_valued,
    skipped_factor_notes,
    train_test,
)
from disbench.metrics.result import MetricResult

#: The predictors on offer: disentanglement_lib's gradient-boosted trees, a fast histogram
#: boosted-tree backend, and Carbonneau et al.'s Lasso and random forest.
PREDICTORS = ("gbt", "hist_gbt", "lasso", "random_forest")

#: disentanglement_lib adds this to every importance before taking entropies, so that rows
#: and columns of zeros have a (uniform) distribution and no log(0) is taken.
_EPSILON = 1e-11

#: ``hist_gbt``: depth-3 trees as dlib's GradientBoostingClassifier; 20 rounds at learning
#: rate 0.3 instead of 100 at 0.1 (speed); an L2 penalty of 1 on the leaf values damps the
#: Newton steps of rare classes (tiny hessians), without which learning rate 0.3 overshoots
#: on factors with 30-40 classes and scatters importance over noise codes (measured on
#: dSprites factors). Early stopping is off: scikit-learn turns it on above 10,000 rows,
#: which would hold out a random tenth of the training rows.
_HIST_GBT_PARAMS = {
    "max_iter": 20,
    "max_depth": 3,
    "learning_rate": 0.3,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
#: Carbonneau et al.'s ``_fit_lasso``: alphas tried, max_iter of the cross-validation fits
#: (the final fit keeps scikit-learn's default), number of folds.
_LASSO_ALPHAS = (0.0001, 0.001, 0.01, 0.1, 0.2, 0.4, 0.8, 1.0)
_LASSO_CV_MAX_ITER = 5000
_CV_FOLDS = 10
#: Carbonneau et al.'s ``_fit_random_forest``: 10 trees, a grid over depth and the fraction
#: of codes tried per split.
_FOREST_TREES = 10
_FOREST_MAX_DEPTHS = (8, 16, 32, 64, 128)
_FOREST_MAX_FEATURES = (0.2, 0.4, 0.8, 1.0)
#: The structured fields of a fitted HistGradientBoosting tree that ``_gain_importance`` reads.
_NODE_FIELDS = ("feature_idx", "gain", "is_leaf")


def dci(
    codes: Any,
    factors: Any,
    *,
    test_codes: Any = None,
    test_factors: Any = None,
    predictor: str = "gbt",
    continuous_factors: bool = False,
    n_jobs: int | None = None,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """DCI: disentanglement, completeness and informativeness of an importance matrix.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation of the training rows (a torch tensor is moved to the host).
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors of the same rows: integer class labels, or real values with
        ``continuous_factors=True``.
    test_codes, test_factors : array-like of shape (n_test, n_codes), (n_test, n_factors)
        The held-out rows ``informativeness_test`` is measured on; pass both or neither.
        When neither is given, a seeded random third of the rows is held out.
    predictor : {"gbt", "hist_gbt", "lasso", "random_forest"}, default="gbt"
        The model fitted to each factor (see Notes). ``"gbt"`` is disentanglement_lib's and
        gives the published numbers; ``"hist_gbt"`` is a fast approximation of it;
        ``"lasso"`` and ``"random_forest"`` are Carbonneau et al.'s regressors.
    continuous_factors : bool, default=False
        Accept real-valued factors: ``"gbt"`` and ``"hist_gbt"`` then fit regressors
        instead of classifiers. ``"lasso"`` and ``"random_forest"`` always regress.
    n_jobs : int or None, default=None
        Workers fitting the factors' predictors in parallel (joblib; processes unless a
        ``joblib.parallel_config`` context picks another backend): ``None`` is one, as
        disentanglement_lib, unless such a context says otherwise; ``-1`` is all cores.
        The numbers do not depend on it.
    rng : int, numpy.random.Generator or None, default=0
        Seed of the predictors' ``random_state`` (a distinct one per factor, drawn first)
        and of the train/test split drawn when no test set is given.

    Returns
    -------
    MetricResult
        ``scores``: ``disentanglement``, ``completeness``, ``informativeness_train``,
        ``informativeness_test``, all in [0, 1]. ``arrays``: ``importance`` (n_codes,
        n_factors); per code ``disentanglement_per_code`` and ``code_importance`` (its
        weight); per factor ``completeness_per_factor``, ``factor_importance`` (its weight),
        ``informativeness_train_per_factor`` and ``informativeness_test_per_factor`` (NaN
        for a skipped factor, whose importance column is 0).

    Notes
    -----
    With R the importance matrix (n_codes D, n_factors K) and
    ``P_jk = (R_jk + ε) / Σ_k' (R_jk' + ε)``, ε = 1e-11 (disentanglement_lib's):

    .. math::

        D = \\sum_j \\rho_j \\bigl(1 - H_K(P_{j\\cdot})\\bigr), \\quad
        \\rho_j = \\frac{\\sum_k R_{jk}}{\\sum_{jk} R_{jk}}, \\qquad
        C = \\sum_k \\tau_k \\bigl(1 - H_D(\\tilde P_{\\cdot k})\\bigr), \\quad
        \\tau_k = \\frac{\\sum_j R_{jk}}{\\sum_{jk} R_{jk}},

    entropies in base K (rows) and base D (columns, ``P̃`` normalised by column), so each
    term lies in [0, 1]; ρ and τ are uniform when R is all zeros. With a single factor every
    code's term is 1 (an entropy over one outcome is 0), likewise with a single code.

    Predictors, each seeded with the factor's ``random_state``:

    - ``"gbt"``: ``GradientBoostingClassifier()`` with scikit-learn's defaults (100 rounds
      of depth-3 trees, learning rate 0.1), as disentanglement_lib; R[:, k] =
      ``|feature_importances_|`` (impurity decrease, summing to 1); informativeness =
      accuracy ``mean(predict(x) == y)``. Slow: minutes on 10,000 rows with many classes.
    - ``"hist_gbt"``: ``HistGradientBoostingClassifier`` with depth-3 trees, 20 rounds at
      learning rate 0.3, L2 penalty 1 on leaf values, no early stopping; R[:, k] = the
      split gains summed per code over all trees (the ``gain`` importance of LightGBM),
      normalised to sum 1; informativeness = accuracy. About 1 s for 10,000 rows × 10
      codes × 6 factors of 57 classes in all on one core, against 2 minutes for ``"gbt"``.
      Its numbers are close to, not equal to, ``"gbt"``'s (3D Shapes VAE codes:
      disentanglement 0.916 vs 0.935, completeness 0.828 vs 0.848, same test accuracy).
      Every fit, whatever the predictor, runs on one OpenMP and BLAS thread (parallelism
      comes from ``n_jobs``): that keeps the numbers independent of the machine and of
      ``n_jobs`` and avoids spin-waiting threads, which made 2-thread fits up to 15× slower
      on a loaded 2-core machine.
    - ``"lasso"``: Carbonneau et al.'s ``_fit_lasso``: codes and the factor min-max scaled
      to [0, 1] (with the training rows' range, test rows too), ``Lasso(alpha)`` with alpha
      in (1e-4, 1e-3, 0.01, 0.1, 0.2, 0.4, 0.8, 1) chosen by the lowest mean squared error
      of unshuffled 10-fold cross-validation (``max_iter=5000``), the first on ties, then
      refitted with scikit-learn's default ``max_iter``; R[:, k] = ``|coef_|``.
    - ``"random_forest"``: Carbonneau et al.'s ``_fit_random_forest``:
      ``RandomForestRegressor(n_estimators=10, max_depth, max_features)`` with max_depth in
      (8, 16, 32, 64, 128) and max_features in (0.2, 0.4, 0.8, 1.0) chosen by unshuffled
      10-fold cross-validation as for the Lasso (200 forests per factor: slow), refitted;
      R[:, k] = ``feature_importances_``.

    Regressors (``"lasso"``, ``"random_forest"``, and ``"gbt"`` / ``"hist_gbt"`` with
    ``continuous_factors=True``, as ``GradientBoostingRegressor()`` /
    ``HistGradientBoostingRegressor`` with the settings above) predict the factor min-max
    scaled to [0, 1] by the training rows (class indices are regressed as numbers, as
    Carbonneau et al. do); informativeness is theirs, ``max(0, 1 - 12 · MSE)``, which is
    the R² of a factor uniform on [0, 1] (variance 1/12).

    Classes seen only in the test rows are never predicted and count as errors. A factor
    that takes a single value on the training rows cannot be learnt: it is skipped
    with a note, its importance column is 0, its per-factor values NaN, and the scores are
    computed on the other factors (K is their number).

    References
    ----------
    .. [1] C. Eastwood, C. K. I. Williams. "A framework for the quantitative evaluation of
       disentangled representations". ICLR 2018. https://openreview.net/forum?id=By-7dz-AZ
    .. [2] google-research/disentanglement_lib @ 86a644d, ``evaluation/metrics/dci.py``
       (``compute_importance_gbt``, ``disentanglement``, ``disentanglement_per_code``,
       ``completeness``, ``completeness_per_factor``).
    .. [3] M.-A. Carbonneau, J. Zaidi, J. Boilard, G. Gagnon. "Measuring disentanglement: a
       review of metrics". IEEE TNNLS 2022. arXiv:2012.09276. Code:
       ubisoft/ubisoft-laforge-disentanglement-metrics @ 05d5667, ``src/metrics/dci.py``.

    Known differences
    -----------------
    - DESIGN.md writes completeness as a plain mean over factors; that is a simplification:
      disentanglement_lib (and so every published number) weights each factor's term by its
      share τ_k of the total importance, as done here. With ``"gbt"``, ``"hist_gbt"`` and
      ``"random_forest"`` every importance column sums to 1, so τ_k = 1/K and the two
      agree (unless a predictor made no split at all); with ``"lasso"`` they differ.
      ``completeness_per_factor`` gives the plain mean to whoever wants it.
    - ``"gbt"`` seeds each classifier (disentanglement_lib leaves ``random_state`` unset,
      so its trees break ties between equally good splits at random from run to run).
    - ``"lasso"`` and ``"random_forest"`` keep Carbonneau et al.'s predictors but use
      disentanglement_lib's formulas for D and C: Carbonneau et al. average completeness
      without weights, and their disentanglement loop stops at the first code of zero
      importance (a ``break`` where ``continue`` was meant). Their informativeness is
      measured on the training rows only; here on training and test rows. Their forests
      are unseeded.
    - A factor with a single value is skipped with a note (disentanglement_lib raises in
      scikit-learn).
    - Without a test set, the split is drawn here from ``rng``; disentanglement_lib samples
      separate training and test rows from the data set.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 2, size=(600, 2))
    >>> codes = np.concatenate([factors + 0.1 * rng.normal(size=(600, 2)),
    ...                         rng.normal(size=(600, 1))], axis=1)
    >>> result = dci(codes, factors)
    >>> result["disentanglement"] > 0.9, result["completeness"] > 0.9
    (True, True)
    >>> result["informativeness_test"]
    1.0
    >>> result.arrays["importance"].shape
    (3, 2)
    """
    check_choice(predictor, "predictor", PREDICTORS)
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0
    ):
        raise ValueError(f"dci: n_jobs must be None or a nonzero integer; got {n_jobs!r}")
    discrete = not continuous_factors
    codes, factors = check_codes_factors(
        codes,
        factors,
        metric="dci",
        min_rows=2 if test_codes is not None else 3,
        discrete_factors=discrete,
    )
    generator = np.random.default_rng(rng)
    seeds = _factor_seeds(generator, factors.shape[1])
    notes: list[str] = []
    if test_codes is not None and test_factors is not None:
        test_codes, test_factors = check_codes_factors(
            test_codes,
            test_factors,
            metric="dci",
            min_rows=1,
            discrete_factors=discrete,
            prefix="test_",
        )
        check_same_codes(codes, test_codes, "dci")
        if factors.shape[1] != test_factors.shape[1]:
            raise ValueError(
                "dci: factors and test_factors must have the same number of columns; "
                f"got {factors.shape[1]} and {test_factors.shape[1]}"
            )
    else:
        codes, factors, test_codes, test_factors = train_test(
            codes, factors, test_codes, test_factors, generator, metric="dci"
        )
        notes.append(
            f"no test set given: {test_codes.shape[0]} of {codes.shape[0] + test_codes.shape[0]}"
            " rows held out at random"
        )
    if predictor in ("lasso", "random_forest") and codes.shape[0] < _CV_FOLDS:
        raise ValueError(
            f"dci: predictor={predictor!r} chooses its hyperparameters by {_CV_FOLDS}-fold "
            f"cross-validation and needs at least {_CV_FOLDS} training rows; "
            f"got {codes.shape[0]}"
        )

    skipped = single_valued(factors)
    if skipped.all():
        raise ValueError(
            "dci: every factor takes a single value on the training rows; nothing to predict"
        )
    notes.extend(skipped_factor_notes(skipped, "it takes a single value on the training rows"))
    regress = predictor in ("lasso", "random_forest") or continuous_factors
    kept = np.flatnonzero(~skipped)
    importance, info_train, info_test, fit_notes = _fit_factors(
        codes, factors, test_codes, test_factors, kept, seeds, predictor, regress, n_jobs
    )
    notes.extend(fit_notes)

    n_factors = importance.shape[1]
    matrix = importance[:, kept]
    per_code = _disentanglement_per_code(matrix)
    code_weight = _code_importance(matrix)
    completeness_kept = _completeness_per_factor(matrix)
    factor_weight_kept = _factor_importance(matrix)
    completeness_per_factor = np.full(n_factors, np.nan)
    completeness_per_factor[kept] = completeness_kept
    factor_weight = np.zeros(n_factors)
    factor_weight[kept] = factor_weight_kept
    return MetricResult(
        name="dci",
        scores={
            "disentanglement": float(np.sum(per_code * code_weight)),
            "completeness": float(np.sum(completeness_kept * factor_weight_kept)),
            "informativeness_train": float(np.mean(info_train[kept])),
            "informativeness_test": float(np.mean(info_test[kept])),
        },
        arrays={
            "importance": importance,
            "disentanglement_per_code": per_code,
            "code_importance": code_weight,
            "completeness_per_factor": completeness_per_factor,
            "factor_importance": factor_weight,
            "informativeness_train_per_factor": info_train,
            "informativeness_test_per_factor": info_test,
        },
        params={"predictor": predictor, "continuous_factors": bool(continuous_factors)},
        notes=tuple(notes),
    )


def _factor_seeds(generator: np.random.Generator, n_factors: int) -> np.ndarray:
    """Distinct ``random_state`` values, one per factor, drawn from the run's generator."""
    return generator.choice(2**31 - 1, size=n_factors, replace=False)


def _fit_factors(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    kept: np.ndarray,
    seeds: np.ndarray,
    predictor: str,
    regress: bool,
    n_jobs: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Fit one predictor per kept factor, in parallel; importance (D, K) and per-factor
    informativeness on the training and the test rows (NaN where not kept)."""
    from joblib import Parallel, delayed

    if predictor == "lasso":
        # Carbonneau et al. scale every code to [0, 1] before the Lasso (scale matters to
        # its penalty); the test rows take the training rows' range.
        scale, offset = _minmax(codes)
        codes, test_codes = codes * scale + offset, test_codes * scale + offset
    if regress:
        scale, offset = _minmax(factors)
        factors, test_factors = factors * scale + offset, test_factors * scale + offset

    # Longest first: with fewer workers than factors this packs the workers evenly (a
    # multiclass booster grows one tree per class and round, so its cost is ~ the classes).
    def cost(k: int) -> int:
        n_classes = np.unique(factors[:, k]).size
        return n_classes if not regress and n_classes > 2 else 1

    order = sorted(kept.tolist(), key=cost, reverse=True)
    # One loop over factors: each factor has its own predictor over all codes.
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_fit_factor)(
            predictor,
            regress,
            codes,
            factors[:, k],
            test_codes,
            test_factors[:, k],
            int(seeds[k]),
        )
        for k in order
    )
    n_codes, n_factors = codes.shape[1], factors.shape[1]
    importance = np.zeros((n_codes, n_factors))
    info_train = np.full(n_factors, np.nan)
    info_test = np.full(n_factors, np.nan)
    notes = []
    for k, (column, train_score, test_score, messages) in sorted(
        zip(order, outputs, strict=True), key=lambda item: item[0]
    ):
        importance[:, k] = column
        info_train[k], info_test[k] = train_score, test_score
        notes.extend(f"factor {k}: {message}" for message in messages)
    return importance, info_train, info_test, notes


def _minmax(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale and offset mapping each column of ``x`` onto [0, 1] as ``x * scale + offset``,
    in the order of scikit-learn's ``minmax_scale`` so the numbers are its own to the bit
    (a constant column keeps scale 1)."""
    low = x.min(axis=0)
    spread = x.max(axis=0) - low
    scale = 1.0 / np.where(spread > 0, spread, 1.0)
    return scale, -low * scale


def _fit_factor(
    predictor: str,
    regress: bool,
    codes: np.ndarray,
    target: np.ndarray,
    test_codes: np.ndarray,
    test_target: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, float, float, tuple[str, ...]]:
    """Fit ``predictor`` to one factor: (importance over codes, informativeness on the
    training rows, on the test rows, messages of the warnings the fit raised)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    # One thread for OpenMP and BLAS inside the fit: the numbers then do not depend on the
    # machine or on n_jobs (a BLAS reduction split over threads sums in another order), and
    # no thread spin-waits for a core that another process holds (measured on a loaded
    # 2-core machine: 2-thread fits up to 15x slower). Parallelism comes from n_jobs.
    # Warnings are collected and returned so that a fit in a worker process reports them as
    # a fit in this process does.
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if predictor == "gbt":
            model = _gbt(regress, seed).fit(codes, target)
            column = np.abs(model.feature_importances_)
        elif predictor == "hist_gbt":
            model = _hist_gbt(regress, seed).fit(codes, target)
            column = _gain_importance(model, codes.shape[1])
        elif predictor == "lasso":
            model = _fit_lasso(codes, target)
            column = np.abs(model.coef_).ravel()
        else:
            model = _fit_random_forest(codes, target, seed)
            column = model.feature_importances_
        predicted = model.predict(codes), model.predict(test_codes)
    messages = tuple(
        sorted({str(w.message).split("\n")[0] for w in caught if w.category is ConvergenceWarning})
    )
    for w in caught:  # everything else goes on as if it had not been caught
        if w.category is not ConvergenceWarning:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    scores = tuple(
        _regression_informativeness(p, t) if regress else float(np.mean(p == t))
        for p, t in zip(predicted, (target, test_target), strict=True)
    )
    return np.asarray(column, dtype=np.float64), scores[0], scores[1], messages


def _gbt(regress: bool, seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    return (GradientBoostingRegressor if regress else GradientBoostingClassifier)(random_state=seed)


def _hist_gbt(regress: bool, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor if regress else HistGradientBoostingClassifier
    return model(**_HIST_GBT_PARAMS, random_state=seed)


def _fit_lasso(codes: np.ndarray, target: np.ndarray) -> Any:
    """Carbonneau et al.'s ``_fit_lasso``: alpha by 10-fold cross-validated MSE, refitted."""
    from sklearn.linear_model import Lasso
    from sklearn.model_selection import cross_val_score

    best_alpha, best_mse = 0.0, 10e10
    for alpha in _LASSO_ALPHAS:
        mse = -cross_val_score(
            Lasso(alpha=alpha, max_iter=_LASSO_CV_MAX_ITER),
            codes,
            target,
            cv=_CV_FOLDS,
            scoring="neg_mean_squared_error",
        ).mean()
        if mse < best_mse:
            best_alpha, best_mse = alpha, mse
    return Lasso(alpha=best_alpha).fit(codes, target)


def _fit_random_forest(codes: np.ndarray, target: np.ndarray, seed: int) -> Any:
    """Carbonneau et al.'s ``_fit_random_forest``: depth and features per split by 10-fold
    cross-validated MSE, refitted."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import cross_val_score

    def forest(max_depth: int, max_features: float) -> Any:
        return RandomForestRegressor(
            n_estimators=_FOREST_TREES,
            max_depth=max_depth,
            max_features=max_features,
            random_state=seed,
        )

    best, best_mse = (0, 0.0), 10e10
    for max_depth in _FOREST_MAX_DEPTHS:
        for max_features in _FOREST_MAX_FEATURES:
            mse = -cross_val_score(
                forest(max_depth, max_features),
                codes,
                target,
                cv=_CV_FOLDS,
                scoring="neg_mean_squared_error",
            ).mean()
            if mse < best_mse:
                best, best_mse = (max_depth, max_features), mse
    return forest(*best).fit(codes, target)


def _regression_informativeness(predicted: np.ndarray, target: np.ndarray) -> float:
    """Carbonneau et al.'s ``max(0, 1 - 12 · MSE)`` for a target scaled to [0, 1]: 1 - MSE
    over the variance of a uniform variable on [0, 1]."""
    mse = float(np.mean((np.ravel(predicted) - target) ** 2))
    return max(0.0, 1.0 - 12.0 * mse)


def _gain_importance(model: Any, n_codes: int) -> np.ndarray:
    """Split gains of a fitted ``HistGradientBoosting*`` model summed per code over all its
    trees, normalised to sum 1 (0 everywhere when no tree split).

    scikit-learn exposes no importances for these models; the gains are read from its
    private trees, ``model._predictors[round][class].nodes`` (a structured array with
    ``feature_idx``, ``gain`` and ``is_leaf``; leaves carry gain -1 and are left out).
    """
    try:
        nodes = [tree.nodes for trees in model._predictors for tree in trees]
        missing = [f for f in _NODE_FIELDS if nodes and f not in (nodes[0].dtype.names or ())]
    except (AttributeError, TypeError) as error:
        missing, cause = list(_NODE_FIELDS), error
    else:
        cause = None
    if missing:
        import sklearn

        raise RuntimeError(
            "dci: predictor='hist_gbt' reads split gains from scikit-learn's private "
            "HistGradientBoosting trees (model._predictors[i][j].nodes with fields "
            f"{', '.join(_NODE_FIELDS)}); scikit-learn {sklearn.__version__} lacks "
            f"{', '.join(missing)}. Use predictor='gbt', or a scikit-learn release that has "
            "them (1.0 to 1.9 do)"
        ) from cause
    gains = np.zeros(n_codes)
    if nodes:
        every = np.concatenate([node[list(_NODE_FIELDS)] for node in nodes])
        split = every[~every["is_leaf"].astype(bool)]
        gains = np.bincount(split["feature_idx"], weights=split["gain"], minlength=n_codes)
    total = gains.sum()
    return gains / total if total > 0 else gains


def _disentanglement_per_code(importance: np.ndarray) -> np.ndarray:
    """1 - H_K of each code's row of importances, entropy in base K (disentanglement_lib's
    ``disentanglement_per_code``); 1 for every code when there is a single factor."""
    n_factors = importance.shape[1]
    if n_factors == 1:
        return np.ones(importance.shape[0])
    return 1.0 - scipy.stats.entropy(importance.T + _EPSILON, base=n_factors)


def _completeness_per_factor(importance: np.ndarray) -> np.ndarray:
    """1 - H_D of each factor's column of importances, entropy in base D (disentanglement_lib's
    ``completeness_per_factor``); 1 for every factor when there is a single code."""
    n_codes = importance.shape[0]
    if n_codes == 1:
        return np.ones(importance.shape[1])
    return 1.0 - scipy.stats.entropy(importance + _EPSILON, base=n_codes)


def _code_importance(importance: np.ndarray) -> np.ndarray:
    """ρ_j: each code's share of the total importance (uniform when the total is 0)."""
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return importance.sum(axis=1) / importance.sum()


def _factor_importance(importance: np.ndarray) -> np.ndarray:
    """τ_k: each factor's share of the total importance (uniform when the total is 0)."""
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return importance.sum(axis=0) / importance.sum()


def _disentanglement(importance: np.ndarray) -> float:
    """Σ_j ρ_j (1 - H_K(R_j·)): disentanglement_lib's ``disentanglement``."""
    return float(np.sum(_disentanglement_per_code(importance) * _code_importance(importance)))


def _completeness(importance: np.ndarray) -> float:
    """Σ_k τ_k (1 - H_D(R_·k)): disentanglement_lib's ``completeness``."""
    return float(np.sum(_completeness_per_factor(importance) * _factor_importance(importance)))
