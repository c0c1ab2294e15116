"""The numpy operations of the op layer that replace a plain numpy call for speed give
exactly what that call gives."""

import numpy as np
import pytest

from disbench.estimators._backend import NumpyOps


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (409, 10), (410, 10), (5000, 10), (3, 5000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_column_minima_and_maxima(rng, shape, dtype):
    x = (rng.normal(size=shape) * 100).astype(dtype)
    for array in (x, np.asfortranarray(x)):
        for got, expected in ((NumpyOps.amin(array), x.min(0)), (NumpyOps.amax(array), x.max(0))):
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)


def test_next_below_is_nextafter_towards_zero(rng):
    tiny = np.finfo(np.float64).smallest_subnormal
    special = [0.0, -0.0, tiny, -tiny, 2 * tiny, np.finfo(np.float64).tiny, 1.0, -1.0, np.inf]
    x = np.concatenate([special, rng.normal(size=999) * 10.0 ** rng.integers(-300, 300, 999)])
    for array in (x, x.reshape(-1, 2).T):
        np.testing.assert_array_equal(NumpyOps.next_below(array), np.nextafter(array, 0))


def test_search_counts_values_at_most_each_query(rng):
    columns = np.sort(np.round(rng.normal(size=(2000, 4)), 2), axis=0)
    queries = np.round(rng.normal(size=(3000, 4)) * 1.5, 2)
    got = NumpyOps.searchsorted(NumpyOps.search_index(columns), queries)
    expected = np.stack(
        [np.searchsorted(c, q, side="right") for c, q in zip(columns.T, queries.T, strict=True)],
        axis=1,
    )
    np.testing.assert_array_equal(got, expected)
