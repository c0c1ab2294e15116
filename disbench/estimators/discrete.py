"""Plug-in (maximum-likelihood) entropy and mutual information of discrete variables.

Every (code, factor) pair is counted at once: the code labels of all columns and the labels
of a block of factors are folded into one integer key per cell of every joint histogram,
one ``bincount`` counts them all, and each factor's table is a marginal sum over the others
in its block (a sort replaces the dense count when codes have very many distinct values).
Units: nats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.estimators._backend import ops_for

#: Dense joint histograms are counted with bincount up to this many cells per key; beyond
#: it (codes with very many distinct values) the occupied cells are found by sorting.
_DENSE_CELLS_PER_ENTRY = 8
#: Factors are counted together while one code's table over the block has at most this many
#: cells per sample: each block costs one pass over the n · n_codes keys, and small tables
#: keep the marginal sums cheap.
_BLOCK_CELLS_PER_SAMPLE = 0.25


def label_counts(labels: Any, n_values: np.ndarray) -> Any:
    """Counts of each label per column: float64 (n_columns, max(n_values)), zero-padded."""
    ops = ops_for(labels)
    width = int(n_values.max())
    keys = labels + ops.arange(labels.shape[1], labels)[None, :] * width
    counts = ops.bincount(keys.reshape(-1), minlength=labels.shape[1] * width)
    return ops.float64(counts.reshape(labels.shape[1], width))


def entropy_from_counts(counts: Any, n_samples: int, *, miller_madow: bool = False) -> Any:
    """Entropy of each row of a count table, in nats.

    ``H = log n - (1/n) Σ_v c_v log c_v`` over the nonzero counts; with ``miller_madow``,
    plus ``(m - 1) / (2n)`` where ``m`` is the number of nonzero counts.
    """
    ops = ops_for(counts)
    xp = ops.xp
    positive = counts > 0
    c_log_c = xp.where(positive, counts * xp.log(xp.where(positive, counts, 1.0)), 0.0)
    h = np.log(n_samples) - c_log_c.sum(1) / n_samples
    if miller_madow:
        h = h + (ops.float64(positive.sum(1)) - 1.0) / (2.0 * n_samples)
    return xp.clip(h, 0.0, None)


def mutual_information_discrete(
    codes: Any,
    code_sizes: np.ndarray,
    factors: Any,
    factor_sizes: np.ndarray,
    *,
    miller_madow: bool = False,
) -> Any:
    """Plug-in mutual information of every (code, factor) pair of label arrays, (D, K) nats.

    ``I(z; v) = Σ_{a,b} (n_ab / n) (log n_ab + log n - log n_a - log n_b)`` over nonzero
    cells; Miller–Madow adds ``(m_z + m_v - m_zv - 1) / (2n)``, the correction of the three
    entropies in ``H(z) + H(v) - H(z, v)``. Estimates below zero (rounding, or the
    Miller–Madow term) are clipped to 0, and a pair in which either variable takes a single
    value is exactly 0, as in scikit-learn. Inputs are labels from 0 with the given sizes.

    The marginal counts are sums of the joint tables, so counting reads the labels once per
    block of factors and no more: each factor's table holds the counts of every code label,
    and every code's table the counts of the factor's labels.
    """
    ops = ops_for(codes)
    xp = ops.xp
    n, n_codes = codes.shape
    width = int(code_sizes.max())
    log_n = np.log(n)
    code_counts = occupied_code = None
    columns, occupied_factor = [], []
    for block in _factor_blocks(factor_sizes, width, n):
        for k, (cells, joint) in zip(
            block, _joint_cells(codes, width, factors, factor_sizes, block), strict=True
        ):
            size = int(factor_sizes[k])
            code_cell = cells // size  # code · width + code label
            factor_label = cells % size
            which_code = code_cell // width
            if code_counts is None:
                code_counts = ops.bincount(code_cell, weights=joint, minlength=n_codes * width)
                occupied_code = ops.float64((code_counts.reshape(n_codes, width) > 0).sum(1))
            # Every code's table has the factor's counts as its marginal: their sum over the
            # codes is an exact multiple of n_codes.
            factor_counts = ops.bincount(factor_label, weights=joint, minlength=size) / n_codes
            terms = joint * (
                xp.log(joint)
                + log_n
                - xp.log(code_counts[code_cell])
                - xp.log(factor_counts[factor_label])
            )
            mi = ops.bincount(which_code, weights=terms, minlength=n_codes) / n
            occupied_factor.append(float((factor_counts > 0).sum()))
            if miller_madow:
                occupied_joint = ops.float64(ops.bincount(which_code, minlength=n_codes))
                mi = mi + (occupied_code + occupied_factor[-1] - occupied_joint - 1.0) / (2.0 * n)
            columns.append(mi)
    mi = xp.clip(ops.stack_columns(columns), 0.0, None)
    # A variable with one value carries no information; without this, rounding leaves ~1e-16.
    informative = (occupied_code[:, None] > 1) & (
        ops.from_host(np.array(occupied_factor), mi)[None, :] > 1
    )
    return xp.where(informative, mi, 0.0)


def _factor_blocks(factor_sizes: np.ndarray, code_width: int, n: int) -> list[list[int]]:
    """Consecutive groups of factors whose joint table with one code stays small."""
    limit = max(_BLOCK_CELLS_PER_SAMPLE * n, code_width * int(factor_sizes.max()))
    blocks: list[list[int]] = []
    product = 0
    for k, size in enumerate(factor_sizes.tolist()):
        if blocks and code_width * product * size <= limit:
            blocks[-1].append(k)
            product *= size
        else:
            blocks.append([k])
            product = size
    return blocks


def _joint_cells(
    codes: Any, width: int, factors: Any, factor_sizes: np.ndarray, block: list[int]
) -> list[tuple[Any, Any]]:
    """For each factor of ``block``: the occupied cells of its joint histogram with every
    code, as flat indices ``(code · width + code label) · size + factor label``, and their
    counts (float64). One pass over the keys, O(n · n_codes) memory."""
    ops = ops_for(codes)
    n_codes = codes.shape[1]
    sizes = [int(factor_sizes[k]) for k in block]
    strides = np.cumprod([1, *sizes[:0:-1]])[::-1]
    combined = (factors[:, block] * ops.from_host(strides.copy(), factors)).sum(1)
    product = int(np.prod(sizes))
    # key = (code · width + code label) · product + combined factor label, built in place:
    # each new (n, n_codes) temporary would cost as much as the arithmetic.
    keys = codes * product
    keys += ops.arange(n_codes, codes) * (width * product)
    keys += combined[:, None]
    keys = keys.reshape(-1)
    n_cells = n_codes * width * product
    if len(block) == 1 and n_cells > _DENSE_CELLS_PER_ENTRY * keys.shape[0]:
        cells, joint = ops.unique_counts(keys)
        return [(cells, ops.float64(joint))]
    dense = ops.bincount(keys, minlength=n_cells).reshape(-1, *sizes)
    out = []
    for i in range(len(sizes)):
        others = tuple(axis + 1 for axis in range(len(sizes)) if axis != i)
        table = (dense.sum(others) if others else dense).reshape(-1)
        cells = ops.nonzero(table)
        out.append((cells, ops.float64(table[cells])))
    return out
