"""The unsupervised scores of Locatello et al. (2019), "Challenging common assumptions in
the unsupervised learning of disentangled representations", arXiv:1811.12359, as computed
by disentanglement_lib (``evaluation/metrics/unsupervised_metrics.py``).

They look at the codes only: how far the codes' covariance is from diagonal (the total
correlation and the Wasserstein distance of a Gaussian with that covariance to the product
of its marginals) and the mean mutual information between pairs of discretised codes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg

from disbench._validation import check_matrix, check_positive_int, check_same_rows
from disbench.estimators import discretize, mutual_information
from disbench.metrics._utils import as_numpy, check_codes
from disbench.metrics.result import MetricResult

_NAME = "unsupervised"


def unsupervised(codes: Any, factors: Any = None, *, num_bins: int = 20) -> MetricResult:
    """Gaussian total correlation, Gaussian Wasserstein correlation and the mean mutual
    information between codes, as disentanglement_lib's unsupervised metrics.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation; at least two rows.
    factors : array-like of shape (n_samples, n_factors), default=None
        Not used: the scores look at the codes only. Accepted so that every metric is
        called as ``metric(codes, factors, ...)``; when given it must have one row per row
        of ``codes`` (a mismatch means the pair was wired wrongly).
    num_bins : int, default=20
        Bins of disentanglement_lib's histogram discretiser, for ``mutual_info_score``.

    Returns
    -------
    MetricResult
        ``scores`` (lower means less dependence between codes):
        ``gaussian_total_correlation`` (nats), ``gaussian_wasserstein_correlation`` (units
        of code variance), ``gaussian_wasserstein_correlation_norm`` (that divided by the
        total variance) and ``mutual_info_score`` (nats). All are 0 for independent codes
        (up to sampling); they are not bounded by 1: the norm reaches 2 - 2/√n_codes for
        copies of one code, ``mutual_info_score`` log(num_bins). ``arrays``: ``covariance``
        (n_codes, n_codes); ``mi_matrix`` (n_codes, n_codes), the plug-in MI between
        discretised codes with each code's entropy on the diagonal; ``constant_codes``
        (n_codes,) bool.

    Notes
    -----
    With ``Σ`` the sample covariance of the codes (``np.cov``, ``ddof=1``) and
    ``d = diag(Σ)``:

    - ``gaussian_total_correlation`` = ``0.5 (Σ_j log d_j - log det Σ)``, the KL divergence
      of ``N(0, Σ)`` from ``N(0, diag(d))``; 0 for uncorrelated codes, and
      ``-0.5 log(1 - ρ²)`` for two codes with correlation ``ρ``.
    - ``gaussian_wasserstein_correlation`` = ``2 tr Σ - 2 tr sqrtm(Σ · d[:, None])``, the
      squared 2-Wasserstein distance between the same two Gaussians
      (``scipy.linalg.sqrtm``). ``Σ · d[:, None]`` is similar to the symmetric positive
      semi-definite ``D^½ Σ D^½``, so its square root is real in exact arithmetic; the
      trace's imaginary part (rounding, at most ~1e-15 of the trace) is dropped.
    - ``gaussian_wasserstein_correlation_norm`` = the above divided by ``tr Σ``.
    - ``mutual_info_score``: each code is discretised by the ``num_bins``-bin histogram rule,
      the plug-in MI (nats) of every pair of codes is computed, and the mean is over the
      ``n_codes² - n_codes`` ordered pairs of distinct codes.

    Edge cases, where disentanglement_lib returns NaN, infinity or fails:

    - Constant codes (a single value in every row) have zero variance, which makes the
      total correlation undefined (log 0). The three covariance scores use the other codes
      only (for the Wasserstein scores this changes nothing: a constant code adds 0 to both
      traces) and ``notes`` names them; ``mutual_info_score`` keeps them, as
      disentanglement_lib (their MI is 0). If every code is constant the covariance scores
      are 0.
    - Linearly dependent codes (e.g. a code duplicated) make ``Σ`` singular and the Gaussian
      total correlation infinite. It is then computed from the eigenvalues ``λ`` of the
      correlation matrix as ``-0.5 Σ log max(λ, n_codes · eps)``, a large finite number
      (about 18 nats per dependent direction), and ``notes`` says so.
    - One code: no pairs, so ``mutual_info_score`` is 0 (disentanglement_lib divides 0 by
      0); the covariance scores are 0.

    References
    ----------
    F. Locatello, S. Bauer, M. Lucic, G. Rätsch, S. Gelly, B. Schölkopf, O. Bachem,
    "Challenging common assumptions in the unsupervised learning of disentangled
    representations", ICML 2019, arXiv:1811.12359.
    google-research/disentanglement_lib @86a644d,
    ``disentanglement_lib/evaluation/metrics/unsupervised_metrics.py``: reproduced to 1e-12
    (tests/metrics/test_unsupervised.py, synthetic and real 3D Shapes codes). float32 codes
    are binned with float32 edges, as there.

    Known differences
    -----------------
    - The edge cases above (constant codes, linearly dependent codes, one code).
    - disentanglement_lib returns the Wasserstein scores as complex numbers when ``sqrtm``
      does; here they are the real parts.
    - Sampling (``num_train = 10000`` rows) is the evaluate pipeline's job, not this
      function's.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(20_000, 2))
    >>> codes = np.stack([z[:, 0], 0.6 * z[:, 0] + 0.8 * z[:, 1]], axis=1)   # ρ = 0.6
    >>> result = unsupervised(codes)
    >>> round(result["gaussian_total_correlation"], 2)   # -0.5 log(1 - 0.36) = 0.223
    0.22
    >>> round(result["gaussian_wasserstein_correlation_norm"], 2)   # 1 - (√1.6 + √0.4) / 2
    0.1
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    codes = check_codes(codes, keep_float32=True)
    if factors is not None:
        check_same_rows(
            codes, check_matrix(as_numpy(factors), "factors", finite=False), ("codes", "factors")
        )
    if codes.shape[0] < 2:
        raise ValueError(
            f"{_NAME} needs at least 2 samples for a covariance; got {codes.shape[0]} rows of codes"
        )
    num_codes = codes.shape[1]
    covariance = np.atleast_2d(np.cov(codes, rowvar=False))
    constant = (codes == codes[:1]).all(axis=0)
    active = np.flatnonzero(~constant)
    notes = []
    if constant.any():
        notes.append(
            f"codes {np.flatnonzero(constant).tolist()} are constant: left out of the "
            "covariance scores"
        )
    active_covariance = covariance[np.ix_(active, active)]
    total_correlation, singular = _gaussian_total_correlation(active_covariance)
    if singular:
        notes.append(
            "the covariance of the codes is singular (some codes are linear functions of "
            "others), so the Gaussian total correlation is infinite; the reported value "
            "floors the correlation matrix's eigenvalues at n_codes * eps"
        )
    wasserstein = _gaussian_wasserstein_correlation(active_covariance)
    total_variance = float(np.trace(active_covariance))

    # float32 codes are binned with float32 edges, as np.histogram (and so
    # disentanglement_lib) does; np.cov computes in float64 whatever the input.
    labels = discretize(codes, strategy="histogram", num_bins=num_bins)
    mi = mutual_information(labels, labels, code_discretizer="unique")
    off_diagonal = mi.copy()
    np.fill_diagonal(off_diagonal, 0)
    pairs = num_codes**2 - num_codes
    mutual_info_score = float(np.sum(off_diagonal) / pairs) if pairs else 0.0
    if not pairs:
        notes.append("a single code: mutual_info_score has no pairs and is 0")

    return MetricResult(
        name=_NAME,
        scores={
            "gaussian_total_correlation": total_correlation,
            "gaussian_wasserstein_correlation": wasserstein,
            "gaussian_wasserstein_correlation_norm": (
                wasserstein / total_variance if total_variance > 0 else 0.0
            ),
            "mutual_info_score": mutual_info_score,
        },
        arrays={"covariance": covariance, "mi_matrix": mi, "constant_codes": constant},
        params={"num_bins": num_bins},
        notes=tuple(notes),
    )


def _gaussian_total_correlation(covariance: np.ndarray) -> tuple[float, bool]:
    """0.5 (Σ log diag(cov) - log det cov), and whether ``cov`` was singular.

    disentanglement_lib's formula (``gaussian_total_correlation``) wherever the
    determinant is positive; a singular or numerically indefinite covariance gets the
    floored-eigenvalue value described in ``unsupervised``'s Notes.
    """
    if covariance.shape[0] == 0:
        return 0.0, False
    sign, logdet = np.linalg.slogdet(covariance)
    if sign > 0 and np.isfinite(logdet):
        return float(0.5 * (np.sum(np.log(np.diag(covariance))) - logdet)), False
    # log det of the correlation matrix = log det cov - Σ log diag(cov): the same quantity,
    # on a matrix with unit diagonal, whose eigenvalues can be floored on one scale.
    std = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(std, std)
    eigenvalues = np.linalg.eigvalsh(correlation)
    floor = covariance.shape[0] * np.finfo(np.float64).eps
    return float(-0.5 * np.sum(np.log(np.maximum(eigenvalues, floor)))), True


def _gaussian_wasserstein_correlation(covariance: np.ndarray) -> float:
    """2 tr(cov) - 2 tr(sqrtm(cov · diag(cov)[:, None])), real part (disentanglement_lib's
    ``gaussian_wasserstein_correlation``)."""
    if covariance.shape[0] == 0:
        return 0.0
    with warnings.catch_warnings():
        # A singular covariance (linearly dependent codes) makes sqrtm warn that the root
        # "might be inaccurate"; the matrix is similar to a PSD one, whose root exists, and
        # that case is already reported in the notes by the total correlation.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(covariance * np.expand_dims(np.diag(covariance), axis=1))
    return float(2 * np.trace(covariance) - 2 * np.real(np.trace(root)))
