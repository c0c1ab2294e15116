"""``FactorSampler`` for every data set: how interventional plans draw their rows.

A grid (a complete factor grid, or a procedural set) can show any factor combination, so
rows that share some factors are drawn by drawing the others uniformly. A labelled sample
stores only some combinations; rows that share values are drawn uniformly among the stored
rows that carry them (as Carbonneau et al. do), grouped once by a sort. A table of
precomputed codes is a labelled sample whose rows are the table's.
"""

from __future__ import annotations

import numpy as np

from disbench.benchmark.datasets import FiniteDataset, GroundTruthDataset


class GridSampler:
    """Rows of a grid or a procedural set: indices on a finite grid, else factor rows."""

    is_grid = True

    def __init__(self, dataset: GroundTruthDataset) -> None:
        self.dataset = dataset
        self.name = dataset.name
        self.factor_names = dataset.factor_names
        self.factor_sizes = tuple(dataset.factor_sizes)
        self._indexed = isinstance(dataset, FiniteDataset)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self._indexed:
            return self.dataset.sample_indices(n, rng)
        return self.dataset.sample_factors(n, rng)

    def sample_sharing(
        self, factors: np.ndarray, fixed: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        drawn = self.dataset.sample_factors(len(factors), rng)
        return self.rows(np.where(fixed, factors, drawn))

    def factors(self, rows: np.ndarray) -> np.ndarray:
        if self._indexed:
            return self.dataset.factors_at(rows)
        return np.asarray(rows, dtype=np.int64)

    def rows(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        return self.dataset.index(factors) if self._indexed else factors


class LabelledSampler:
    """Rows of a labelled sample (stored rows that are not a complete grid).

    Parameters
    ----------
    factors : ndarray of shape (n_rows, K)
        The factor values of every stored row (class indices, or values of continuous
        factors, which ``factors`` returns as stored).
    factor_names : tuple of str
    """

    is_grid = False

    def __init__(
        self, factors: np.ndarray, factor_names: tuple[str, ...], name: str = "labelled sample"
    ) -> None:
        self.name = name
        self._factors = np.asarray(factors)
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(len(np.unique(column)) for column in self._factors.T)

    @classmethod
    def of(cls, dataset: FiniteDataset) -> LabelledSampler:
        return cls(dataset.factors_at(np.arange(len(dataset))), dataset.factor_names, dataset.name)

    def __len__(self) -> int:
        return len(self._factors)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, len(self._factors), size=n, dtype=np.int64)

    def sample_sharing(
        self, factors: np.ndarray, fixed: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        factors = np.asarray(factors)
        fixed = np.broadcast_to(np.asarray(fixed, dtype=bool), factors.shape)
        out = np.empty(len(factors), dtype=np.int64)
        # One group-by per distinct set of fixed columns (a metric uses a few: one per factor).
        patterns, pattern_of = np.unique(fixed, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            asked = np.flatnonzero(pattern_of.ravel() == p)
            out[asked] = self._draw_matching(factors[asked][:, pattern], pattern, rng)
        return out

    def _draw_matching(
        self, wanted: np.ndarray, columns: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each row of ``wanted`` (values of ``columns``), a stored row that matches."""
        n_rows = len(self._factors)
        if not columns.any():
            return rng.integers(0, n_rows, size=len(wanted), dtype=np.int64)
        stored = self._factors[:, columns]
        keys, stored_key = np.unique(stored, axis=0, return_inverse=True)
        stored_key = stored_key.ravel()
        order = np.argsort(stored_key, kind="stable")
        counts = np.bincount(stored_key, minlength=len(keys))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # Locate each wanted combination among the stored keys (rows of ``keys`` are sorted).
        found = _find_rows(keys, wanted)
        missing = found < 0
        need = 2
        rare = missing | (counts[np.maximum(found, 0)] < need)
        if rare.any():
            names = [self.factor_names[k] for k in np.flatnonzero(columns)]
            worst = wanted[np.flatnonzero(rare)[0]]
            have = 0 if missing[np.flatnonzero(rare)[0]] else counts[found[rare][0]]
            raise ValueError(
                f"this labelled sample has too few rows sharing "
                f"{dict(zip(names, worst.tolist(), strict=True))}: {have} found, at least "
                f"{need} needed to draw rows that share {', '.join(names)}; use a larger "
                "sample, a complete grid, or a metric that conditions on fewer factors"
            )
        pick = starts[found] + (rng.random(len(wanted)) * counts[found]).astype(np.int64)
        return order[pick].astype(np.int64)

    def factors(self, rows: np.ndarray) -> np.ndarray:
        return self._factors[np.asarray(rows, dtype=np.int64)]

    def rows(self, factors: np.ndarray) -> np.ndarray:
        raise ValueError(
            "this metric needs a complete factor grid (it asks for factor combinations by "
            "value); this data set is a labelled sample"
        )


def _find_rows(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each row of ``wanted`` in the lexicographically sorted unique ``keys``; -1."""
    both, inverse = np.unique(np.concatenate([keys, wanted]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    position = np.full(len(both), -1, dtype=np.int64)
    position[inverse[: len(keys)]] = np.arange(len(keys))
    return position[inverse[len(keys) :]]


def sampler_for(
    dataset: GroundTruthDataset | None = None,
    *,
    factors: np.ndarray | None = None,
    factor_names: tuple[str, ...] = (),
    name: str = "codes",
) -> GridSampler | LabelledSampler:
    """The sampler of a data set, or of the factor rows of a table of precomputed codes."""
    if dataset is None:
        if factors is None:
            raise TypeError("give a data set or the factor rows of a table of codes")
        names = factor_names or tuple(f"factor_{k}" for k in range(np.shape(factors)[1]))
        return LabelledSampler(factors, names, name)
    if isinstance(dataset, FiniteDataset) and not dataset.is_grid:
        return LabelledSampler.of(dataset)
    return GridSampler(dataset)
