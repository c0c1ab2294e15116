"""What an interventional metric may ask of a data set: the ``FactorSampler`` protocol.

Interventional metrics choose which observations to look at: pairs of rows that share a
factor, batches with one factor held fixed, neighbourhoods of factor space. Each such
metric is two public functions: a plan, which draws rows from a ``FactorSampler`` and
encodes nothing, and a computation, a pure function of the codes of those rows. The
evaluate pipeline encodes every plan's rows in one extraction; a user who already has
codes for the rows calls the computation directly.

Rows are opaque handles — stored-row indices on a finite data set, factor rows on a
procedural one — that plans only draw, concatenate and reshape along their first axis.
``disbench.benchmark.sampling`` implements the protocol for every data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class InterventionPlan:
    """The rows an interventional metric observes, and what its computation needs besides.

    ``rows`` maps names to row arrays (opaque handles, first axis = observations); the
    pipeline encodes them all in one extraction and calls the computation with the codes
    under the same names, plus ``meta`` (labels, factor values) as keyword arguments.
    """

    rows: dict[str, np.ndarray]
    meta: dict[str, np.ndarray] = field(default_factory=dict)


class FactorSampler(Protocol):
    """Draws rows of a ground-truth data set by their factor values.

    Attributes
    ----------
    name : str
        The data set's name (plans may look up per-data-set defaults by it).
    factor_names, factor_sizes : tuple
        As the data set's.
    is_grid : bool
        True when every factor combination can be observed (a complete grid, or a
        procedural set); False for a labelled sample, where rows sharing a value are
        drawn from the rows that are stored, and ``len(sampler)`` is their number.
    """

    name: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    is_grid: bool

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows, factors uniform (grid) or stored rows uniform (labelled sample)."""
        ...

    def sample_sharing(
        self, factors: np.ndarray, fixed: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each factor row ``factors[i]``, a row with the same values where ``fixed[i]``.

        ``factors`` int ``(n, K)``, ``fixed`` bool ``(n, K)`` (or ``(K,)`` for all rows).
        The other factors are drawn uniformly (grid) or uniformly among the stored rows that
        match (labelled sample; ``ValueError`` saying how many rows were needed and found
        when a value combination is too rare).
        """
        ...

    def factors(self, rows: np.ndarray) -> np.ndarray:
        """The factor values of rows: int64 ``(n, K)``."""
        ...

    def rows(self, factors: np.ndarray) -> np.ndarray:
        """The rows of factor combinations (grids only; ``ValueError`` on a labelled sample)."""
        ...
