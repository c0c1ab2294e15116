"""The three-dots data set of Rhodes & Lee (2021), rendered on demand.

Three black discs on a white 64×64 canvas; each disc's centre is two factors (column and
row), 64 values each, so the set is a 64⁶-row grid that is never stored.

References
----------
T. Rhodes and D. D. Lee, "Local Disentanglement in Variational Auto-Encoders Using Jacobian
L1 Regularization", NeurIPS 2021, https://arxiv.org/abs/2106.02923. Reference renderer:
``disentanglement_lib/data/ground_truth/threeDots.py`` in
https://github.com/travers-rhodes/jlonevae (``draw_dots_to_image_array``).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from disbench.benchmark.datasets.base import FiniteDataset, check_factor_rows, check_indices

_SIZE = 64  # output width and height, pixels
_UP = 10  # supersampling factor of the reference
_CANVAS = _SIZE * _UP  # side of the supersampled canvas, subpixels
_FIX = 1 << 10  # the reference's fixed-point scale (cv2 ``shift=10``): 1/1024 subpixel
_RADIUS = 0.08  # disc radius, fraction of the width
# Radius in 1/1024 subpixels, truncated like the reference (52428 = 51.199 subpixels), plus
# half a subpixel: cv2's scanline fill paints every subpixel whose centre lies within half a
# subpixel of the boundary, so the painted disc is half a subpixel wider than the circle.
_REACH = int(_SIZE * _RADIUS * _UP * _FIX) + _FIX // 2
_WINDOW = 12  # output pixels spanned by one disc (2 * 51.7 + 1 subpixels cover ≤ 12 blocks)
_EMPTY = 1 << 24  # interval start of a subpixel row that a disc does not reach
# Inclusion-exclusion over the three discs: (discs, sign) of the coverage of their union.
_TERMS = (
    ((0,), 1),
    ((1,), 1),
    ((2,), 1),
    ((0, 1), -1),
    ((0, 2), -1),
    ((1, 2), -1),
    ((0, 1, 2), 1),
)


class ThreeDots(FiniteDataset):
    """Three black discs on white, 64×64 grey-scale, rendered on demand.

    Factors ``x0, y0, x1, y1, x2, y2`` (64 values each): the column (x) and row (y) of each
    disc's centre, origin top-left, at ``value / 63`` of the width. The 64⁶ = 68,719,476,736
    rows form a grid (row-major over the factors) that is rendered, never stored.

    Parameters
    ----------
    chunk_size : int, default=512
        Images rendered at a time; bounds memory (under 100 KB per image) and does not
        change the observations.

    Notes
    -----
    The reference draws each disc (radius ``int(64 · 0.08 · 10 · 1024) / 1024`` = 51.2
    subpixels, centre ``floor(64 · 10 · 1024 · value / 63) / 1024``) black with
    ``cv2.circle(..., shift=10)`` on a white 640×640 canvas and averages 10×10 blocks
    (``cv2.resize(..., INTER_AREA)``), so every pixel is a multiple of 0.01 and overlapping
    discs are their union. Here a subpixel ``(j, k)`` (column, row; centre at ``j / 10``
    output pixels) is black when it lies within the radius plus half a subpixel of some
    centre — cv2's scanline fill paints every subpixel whose centre is within half a
    subpixel of its 72-gon. The count of black subpixels per pixel is exact integer
    arithmetic: for each subpixel row a disc covers one interval of columns, the union of
    the three discs is counted by inclusion-exclusion over intersections of intervals, and
    only the 12×12-pixel window around each disc is visited.

    Known differences: cv2 fills a 72-gon inscribed in the circle, with its own rounding at
    the edges; the disc here differs from it on a few boundary subpixels. Against 260
    reference renders (``shared/data/threedots``) the mean absolute pixel error is
    1.7e-4 (the largest per image 2.6e-4).

    Examples
    --------
    >>> dots = ThreeDots()
    >>> images = dots.observations([[0, 0, 31, 31, 63, 63]])
    >>> images.shape, float(images[0, 0, 31, 31]), float(images[0, 0, 10, 50])
    ((1, 1, 64, 64), 0.0, 1.0)
    """

    name = "threedots"
    factor_names = ("x0", "y0", "x1", "y1", "x2", "y2")
    factor_sizes = (_SIZE,) * 6
    observation_shape = (1, _SIZE, _SIZE)
    is_grid = True

    def __init__(self, *, chunk_size: int = 512) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.chunk_size = chunk_size

    def __len__(self) -> int:
        return _SIZE**6

    def params(self) -> dict[str, Any]:
        # "renderer" changes whenever the images do, so that cached codes are not reused.
        return {"radius": _RADIUS, "supersampling": _UP, "renderer": 1}

    def factors_at(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return np.stack(np.unravel_index(indices, self.factor_sizes), axis=1).astype(np.int64)

    def observations_at(self, indices: np.ndarray) -> np.ndarray:
        return render_three_dots(self.factors_at(indices), chunk_size=self.chunk_size)

    def observations(self, factors: np.ndarray) -> np.ndarray:
        """Images of factor rows: float32 ``(n, 1, 64, 64)`` in [0, 1] (rendered directly)."""
        factors = check_factor_rows(factors, self.factor_sizes)
        return render_three_dots(factors, chunk_size=self.chunk_size)


def render_three_dots(factors: np.ndarray, *, chunk_size: int = 512) -> np.ndarray:
    """Render three-dots images: float32 ``(n, 1, 64, 64)``, discs 0 on white 1.

    Parameters
    ----------
    factors : int array of shape (n, 6)
        ``x0, y0, x1, y1, x2, y2`` in ``0..63`` (trusted: validate with
        :func:`~disbench.benchmark.datasets.base.check_factor_rows` first).
    chunk_size : int, default=512
        Images rendered per step; memory is under 100 KB per image of a step.

    Returns
    -------
    numpy.ndarray
        ``(n, 1, 64, 64)`` float32, each pixel a multiple of 0.01: the white fraction of
        its 10×10 subpixels. See :class:`ThreeDots` for the geometry.
    """
    factors = np.asarray(factors, dtype=np.int64)
    images = np.empty((factors.shape[0], 1, _SIZE, _SIZE), dtype=np.float32)
    for start in range(0, factors.shape[0], chunk_size):
        black = _black_subpixels(factors[start : start + chunk_size])
        # The reference averages in float64 and stores float32.
        images[start : start + chunk_size, 0] = (_UP * _UP - black) * (1.0 / (_UP * _UP))
    return images


def _black_subpixels(factors: np.ndarray) -> np.ndarray:
    """Number of black subpixels (0..100) of each output pixel: int32 ``(n, 64, 64)``."""
    n = factors.shape[0]
    # Centres in 1/1024 subpixels, exactly floor(64 * 10 * 1024 * value / 63) as the
    # reference's float computation gives (the fraction is never within 1/63 of an integer).
    centres = (factors.reshape(n, 3, 2) * (_CANVAS * _FIX)) // (_SIZE - 1)
    cx, cy = centres[:, :, 0], centres[:, :, 1]
    # First output row and column of each disc's window, kept inside the canvas.
    top = np.clip(-((_REACH - cy) // _FIX) // _UP, 0, _SIZE - _WINDOW)
    left = np.clip(-((_REACH - cx) // _FIX) // _UP, 0, _SIZE - _WINDOW)
    close = {
        (d, e): (cx[:, d] - cx[:, e]) ** 2 + (cy[:, d] - cy[:, e]) ** 2 <= (2 * _REACH) ** 2
        for d, e in ((0, 1), (0, 2), (1, 2))
    }
    black = np.zeros((n, _SIZE, _SIZE), dtype=np.int32)
    offsets = np.arange(_WINDOW)
    for discs, sign in _TERMS:
        # Discs farther apart than two radii do not intersect: skip those images.
        if len(discs) == 1:
            rows_of = np.arange(n)
        else:
            overlap = np.logical_and.reduce([close[pair] for pair in combinations(discs, 2)])
            rows_of = np.flatnonzero(overlap)
            if rows_of.size == 0:
                continue
        anchor = discs[0]  # the intersection lies inside the first disc's window
        row0, col0 = top[rows_of, anchor], left[rows_of, anchor]
        counts = _window_counts(cx[rows_of][:, discs], cy[rows_of][:, discs], row0, col0)
        rows = (row0[:, None] + offsets)[:, :, None]
        cols = (col0[:, None] + offsets)[:, None, :]
        # No (image, row, column) repeats within one term, so buffered += is exact.
        black[rows_of[:, None, None], rows, cols] += sign * counts
    return black


def _window_counts(
    cx: np.ndarray, cy: np.ndarray, row0: np.ndarray, col0: np.ndarray
) -> np.ndarray:
    """Subpixels covered by the intersection of discs, per pixel of a 12×12 window.

    ``cx, cy``: (m, t) centres in 1/1024 subpixels of the ``t`` intersected discs;
    ``row0, col0``: (m,) the window's first output row and column. Returns int32
    ``(m, 12, 12)``.
    """
    subrows = (row0[:, None] * _UP + np.arange(_WINDOW * _UP))[:, :, None]  # (m, 120, 1)
    dy = subrows * _FIX - cy[:, None, :]  # (m, 120, t)
    h2 = _REACH * _REACH - dy * dy
    reached = h2 >= 0
    h2 = np.where(reached, h2, 0)
    # Integer square root: float sqrt is exact to ±1 here (h2 < 2**32); correct it.
    half = np.sqrt(h2).astype(np.int64)
    half -= half * half > h2
    half += (half + 1) * (half + 1) <= h2
    # Columns j with |1024 j - cx| <= half: [ceil((cx - half) / 1024), floor((cx + half) / 1024)].
    first = np.where(reached, -((half - cx[:, None, :]) // _FIX), _EMPTY).max(axis=2)
    last = np.where(reached, (cx[:, None, :] + half) // _FIX, -_EMPTY).min(axis=2)
    length = np.maximum(last - first + 1, 0)[:, :, None]
    # Covered columns left of each block boundary, then per block by differences.
    bounds = ((col0[:, None] + np.arange(_WINDOW + 1)) * _UP)[:, None, :]  # (m, 1, 13)
    before = np.clip(bounds - first[:, :, None], 0, length)  # (m, 120, 13)
    per_subrow = np.diff(before, axis=2)  # (m, 120, 12)
    return per_subrow.reshape(-1, _WINDOW, _UP, _WINDOW).sum(axis=2).astype(np.int32)
