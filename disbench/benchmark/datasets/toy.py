"""A small procedural data set for fast tests: a fixed random nonlinear mixing of the factors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from disbench.benchmark.datasets.base import FiniteDataset, check_factor_rows, check_indices

_HIDDEN = 32  # width of the mixing network's hidden layer


class Toy(FiniteDataset):
    """Observations a fixed, seeded, random 2-layer network of the factors.

    A complete grid (row-major over ``factor_sizes``) of ``prod(factor_sizes)`` rows,
    rendered on demand in microseconds: for tests and examples, not for benchmarking models.

    Parameters
    ----------
    factor_sizes : sequence of int, default=(4, 5, 6)
        Number of values of each factor (each ≥ 1).
    observation_shape : sequence of 3 int, default=(1, 16, 16)
        ``(C, H, W)`` of an observation.
    seed : int, default=0
        Seed of the network's weights; the same options give the same observations on
        every machine (up to float rounding of the matrix products).
    factor_names : sequence of str, optional
        One name per factor; default ``f0, f1, ...``.

    Notes
    -----
    Factor ``k`` with value ``v`` enters as ``z_k = 2 v / (s_k - 1) - 1`` in [-1, 1] (0 when
    ``s_k = 1``). The observation is ``sigmoid(W2 tanh(W1 z + b1) + b2)`` reshaped to
    ``observation_shape``, with ``W1`` (32, K) of standard deviation ``2 / sqrt(K)``,
    ``W2`` (C·H·W, 32) of standard deviation ``3 / sqrt(32)`` and biases of standard
    deviation 0.5, all drawn from ``numpy.random.default_rng(seed)``; computed in float64
    and returned as float32 in (0, 1). Every factor moves the observation, nonlinearly and
    entangled across pixels.

    Examples
    --------
    >>> toy = Toy()
    >>> len(toy), toy.observations_at([0, 119]).shape
    (120, (2, 1, 16, 16))
    >>> Toy(seed=1).fingerprint != toy.fingerprint
    True
    """

    name = "toy"
    is_grid = True

    def __init__(
        self,
        factor_sizes: Sequence[int] = (4, 5, 6),
        observation_shape: Sequence[int] = (1, 16, 16),
        seed: int = 0,
        factor_names: Sequence[str] | None = None,
    ) -> None:
        sizes = tuple(factor_sizes)
        if not sizes or not all(_is_int(size) and size >= 1 for size in sizes):
            raise ValueError(f"factor_sizes must be positive integers, got {factor_sizes!r}")
        shape = tuple(observation_shape)
        if len(shape) != 3 or not all(_is_int(size) and size >= 1 for size in shape):
            raise ValueError(
                "observation_shape must be 3 positive integers (C, H, W), "
                f"got {observation_shape!r}"
            )
        if not _is_int(seed):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        names = (
            tuple(f"f{k}" for k in range(len(sizes)))
            if factor_names is None
            else tuple(factor_names)
        )
        if len(names) != len(sizes) or not all(isinstance(name, str) for name in names):
            raise ValueError(
                f"factor_names must be {len(sizes)} strings (one per factor), got {factor_names!r}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"factor_names must be distinct, got {names!r}")
        self.factor_sizes = tuple(int(size) for size in sizes)
        self.observation_shape = tuple(int(size) for size in shape)  # type: ignore[assignment]
        self.factor_names = names
        self.seed = int(seed)
        generator = np.random.default_rng(self.seed)
        k, d = len(sizes), math.prod(self.observation_shape)
        self._w1 = generator.normal(0.0, 2.0 / math.sqrt(k), size=(k, _HIDDEN))
        self._b1 = generator.normal(0.0, 0.5, size=_HIDDEN)
        self._w2 = generator.normal(0.0, 3.0 / math.sqrt(_HIDDEN), size=(_HIDDEN, d))
        self._b2 = generator.normal(0.0, 0.5, size=d)

    def __len__(self) -> int:
        return math.prod(self.factor_sizes)

    def params(self) -> dict[str, Any]:
        return {
            "factor_sizes": list(self.factor_sizes),
            "observation_shape": list(self.observation_shape),
            "seed": self.seed,
            "factor_names": list(self.factor_names),
        }

    def factors_at(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return np.stack(np.unravel_index(indices, self.factor_sizes), axis=1).astype(np.int64)

    def observations_at(self, indices: np.ndarray) -> np.ndarray:
        return self._mix(self.factors_at(indices))

    def observations(self, factors: np.ndarray) -> np.ndarray:
        """Observations of factor rows: float32 ``(n, C, H, W)`` in (0, 1)."""
        return self._mix(check_factor_rows(factors, self.factor_sizes))

    def _mix(self, factors: np.ndarray) -> np.ndarray:
        """The network applied to valid factor rows."""
        spans = np.maximum(np.asarray(self.factor_sizes, dtype=np.float64) - 1.0, 1.0)
        z = 2.0 * factors / spans - 1.0
        z[:, np.asarray(self.factor_sizes) == 1] = 0.0
        hidden = np.tanh(z @ self._w1 + self._b1)
        logits = hidden @ self._w2 + self._b2
        # 1 / (1 + exp(-x)) overflows exp for x < -709; tanh form is exact and never does.
        pixels = 0.5 * (1.0 + np.tanh(0.5 * logits))
        return pixels.astype(np.float32).reshape((factors.shape[0], *self.observation_shape))


def _is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
