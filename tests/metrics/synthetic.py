"""Controlled representations of Carbonneau et al. 2022 ("Measuring disentanglement: a
review of metrics", section 5), for tests that check how each metric responds.

Factors are uniform on {0, ..., size - 1}; codes are built from the factors scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np

SIZES = (10, 8, 5, 12)


def uniform_factors(
    rng: np.random.Generator, n: int = 20_000, sizes: tuple[int, ...] = SIZES
) -> np.ndarray:
    """Factors (n, K), column k uniform on {0, ..., sizes[k] - 1}."""
    return rng.integers(0, sizes, size=(n, len(sizes)))


def scaled(factors: np.ndarray) -> np.ndarray:
    """Factors mapped to [0, 1] column by column."""
    return factors / np.maximum(factors.max(axis=0), 1)


def identity_codes(factors: np.ndarray) -> np.ndarray:
    """One code per factor, equal to it (float)."""
    return factors.astype(np.float64)


def noisy_codes(factors: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """codes = (1 - alpha) · f + alpha · noise, noise uniform on [0, 1]: alpha = 0 is perfect,
    alpha = 1 is pure noise."""
    f = scaled(factors)
    return (1 - alpha) * f + alpha * rng.uniform(size=f.shape)


def mixed_codes(factors: np.ndarray, alpha: float) -> np.ndarray:
    """codes = f · P with P = (1 - alpha) · I + alpha · J / K (J all ones): alpha = 0 gives
    one code per factor, alpha = 1 gives every code the same mean of all factors."""
    f = scaled(factors)
    k = f.shape[1]
    mixing = (1 - alpha) * np.eye(k) + alpha * np.ones((k, k)) / k
    return f @ mixing


def duplicated_codes(factors: np.ndarray) -> np.ndarray:
    """[f, f]: each factor captured by two codes (modular, not compact)."""
    f = scaled(factors)
    return np.concatenate([f, f], axis=1)


def cos_sin_codes(factors: np.ndarray) -> np.ndarray:
    """[cos(pi f / 2), sin(pi f / 2)]: each factor spread over two codes nonlinearly."""
    f = scaled(factors) * np.pi / 2
    return np.concatenate([np.cos(f), np.sin(f)], axis=1)


def random_codes(factors: np.ndarray, rng: np.random.Generator, n_codes: int = 4) -> np.ndarray:
    """Codes independent of the factors."""
    return rng.normal(size=(factors.shape[0], n_codes))
