import numpy as np
import pytest
import torch

from disbench.estimators import discretize


def dlib_histogram_labels(x: np.ndarray, num_bins: int) -> np.ndarray:
    """disentanglement_lib's _histogram_discretize, column by column, labels from 1."""
    return np.stack([np.digitize(col, np.histogram(col, num_bins)[1][:-1]) for col in x.T], axis=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_histogram_reproduces_disentanglement_lib(rng, dtype):
    x = np.concatenate(
        [
            rng.normal(size=(5000, 3)),
            rng.exponential(size=(5000, 2)) * 1e3,
            # values on a grid put many samples exactly on bin edges
            rng.integers(0, 41, size=(5000, 2)) / 40.0,
            np.full((5000, 1), 3.25),  # constant: edges min-0.5 .. max+0.5
        ],
        axis=1,
    ).astype(dtype)
    for num_bins in (20, 7, 1):
        np.testing.assert_array_equal(
            discretize(x, num_bins=num_bins), dlib_histogram_labels(x, num_bins) - 1
        )


def test_histogram_labels_cover_bins():
    x = np.linspace(0.0, 1.0, 101)
    labels = discretize(x, num_bins=10).ravel()
    assert labels.min() == 0 and labels.max() == 9
    assert labels[-1] == 9  # the maximum falls in the last bin
    assert discretize(np.full(4, 2.0), num_bins=20).ravel().tolist() == [10, 10, 10, 10]


def test_equal_width():
    x = np.array([[-1.0, 5.0], [0.0, 5.0], [0.5, 5.0], [1.0, 5.0]])
    labels = discretize(x, strategy="equal_width", num_bins=4)
    assert labels[:, 0].tolist() == [0, 2, 3, 3]
    assert labels[:, 1].tolist() == [0, 0, 0, 0]  # a constant column is one bin


def test_quantile_makes_equal_frequency_bins(rng):
    x = rng.permutation(1000).astype(float)[:, None]
    labels = discretize(x, strategy="quantile", num_bins=4).ravel()
    assert np.bincount(labels).tolist() == [250, 250, 250, 250]
    assert (labels == np.floor(x.ravel() * 4 / 1000)).all()
    tied = discretize(np.array([1.0, 1.0, 1.0, 2.0, 3.0, 4.0]), strategy="quantile", num_bins=3)
    assert tied.ravel().tolist() == [0, 0, 0, 1, 2, 2]


def test_unique_labels_distinct_values_in_order():
    x = np.array([[3.0, 1], [7.0, 1], [3.0, 0], [5.0, 1]])
    labels = discretize(x, strategy="unique")
    assert labels[:, 0].tolist() == [0, 2, 0, 1]
    assert labels[:, 1].tolist() == [1, 1, 0, 1]


def test_unique_labels_of_integers_by_column():
    # Every value of its range occurs in the first two columns (kept as they are, less
    # their minimum); the third skips values.
    x = np.array([[0, 10, 0], [2, 12, 5], [1, 11, 2], [2, 10, 5]])
    labels = discretize(x, strategy="unique")
    assert labels.T.tolist() == [[0, 2, 1, 2], [0, 2, 1, 0], [0, 2, 1, 2]]


@pytest.mark.parametrize("strategy", ["histogram", "equal_width", "quantile", "unique"])
def test_torch_matches_numpy(rng, strategy):
    x = np.concatenate(
        [rng.normal(size=(3000, 3)), rng.integers(0, 41, size=(3000, 2)) / 40.0], axis=1
    )
    for array in (x, x.astype(np.float32)):
        expected = discretize(array, strategy=strategy, num_bins=13)
        got = discretize(torch.from_numpy(array), strategy=strategy, num_bins=13)
        assert isinstance(got, torch.Tensor) and got.dtype == torch.int64
        np.testing.assert_array_equal(got.numpy(), expected)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="strategy must be one of"):
        discretize(np.zeros((3, 2)), strategy="kmeans")
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1; got 0"):
        discretize(np.zeros((3, 2)), num_bins=0)
    with pytest.raises(ValueError, match=r"x must be 2-D, \(n_samples, n_columns\); got shape"):
        discretize(np.zeros((3, 2, 2)))
    x = np.zeros((5, 4))
    x[1, 3] = np.nan
    x[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite values in columns \[1, 3\]"):
        discretize(x)
