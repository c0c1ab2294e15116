"""Extraction: batched encoding equals the model's forward pass; the grid cache."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from disbench.adapters import load_encoder
from disbench.benchmark.datasets import GroundTruthDataset
from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.extraction import (
    PROBE_BATCH_SIZES,
    READ_ROWS,
    ExtractionError,
    GridCodeCache,
    encode_batches,
    extract,
    probe_batch_size,
)
from tests.benchmark.encoders import save_linear_encoder, save_nan_encoder

SHAPE = (1, 16, 16)


@pytest.fixture
def toy() -> Toy:
    return Toy(factor_sizes=(4, 5, 6), observation_shape=SHAPE, seed=0)


@pytest.fixture
def linear(tmp_path):
    weight = save_linear_encoder(tmp_path / "linear.pt", n_pixels=256, n_codes=4)
    return load_encoder(str(tmp_path / "linear.pt")), weight.astype(np.float64)


class Stripes(GroundTruthDataset):
    """A procedural set with no stored rows: a bar at row ``f0`` and column ``f1``."""

    name = "stripes"
    factor_names = ("row", "column")
    factor_sizes = (16, 16)
    observation_shape = SHAPE

    def observations(self, factors):
        images = np.zeros((len(factors), *SHAPE), dtype=np.float32)
        images[np.arange(len(factors)), 0, factors[:, 0], :] = 1.0
        images[np.arange(len(factors)), 0, :, factors[:, 1]] = 0.5
        return images


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_batches_of_any_size_give_the_forward_pass(toy, linear, batch_size):
    encoder, weight = linear
    rows = np.arange(len(toy))
    images = toy.observations_at(rows)
    codes = encode_batches(
        encoder, lambda a, b: toy.observations_at(rows[a:b]), len(rows), batch_size=batch_size
    )
    assert codes.dtype == np.float32 and codes.shape == (len(toy), 4)
    np.testing.assert_allclose(codes, images.reshape(len(rows), -1) @ weight, rtol=1e-5, atol=1e-5)


def test_extract_returns_codes_in_the_order_asked_with_repeats(toy, linear, tmp_path):
    encoder, weight = linear
    rng = np.random.default_rng(0)
    indices = rng.integers(0, len(toy), size=500)
    expected = toy.observations_at(indices).reshape(500, -1) @ weight
    for cache in (False, tmp_path / "cache"):
        codes = extract(encoder, toy, indices=indices, cache=cache, batch_size=32)
        np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)
    factors = toy.factors_at(indices)
    by_factors = extract(encoder, toy, factors=factors, cache=False, batch_size=32)
    np.testing.assert_allclose(by_factors, expected, rtol=1e-5, atol=1e-5)


def test_a_procedural_set_is_rendered_from_factor_rows(linear):
    encoder, weight = linear
    factors = np.array([[0, 0], [3, 7], [15, 15], [3, 7]])
    codes = extract(encoder, Stripes(), factors=factors, batch_size=3)
    expected = Stripes().observations(factors).reshape(4, -1) @ weight
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="no stored rows"):
        extract(encoder, Stripes(), indices=np.arange(3))
    with pytest.raises(TypeError, match="exactly one of"):
        extract(encoder, Stripes())


def test_the_grid_is_encoded_once_then_looked_up(toy, linear, tmp_path):
    encoder, weight = linear
    folder = tmp_path / "cache"
    cache = GridCodeCache(folder)
    key = cache.key(encoder, toy)
    assert cache.load(key) is None
    extract(encoder, toy, indices=np.arange(5), cache=folder, batch_size=50)
    stored = cache.load(key)
    assert isinstance(stored, np.memmap) and stored.shape == (len(toy), 4)
    expected = toy.observations_at(np.arange(len(toy))).reshape(len(toy), -1) @ weight
    np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-5)
    assert sorted(p.name for p in folder.iterdir()) == [f"{key}.json", f"{key}.npy"]
    # A second plan reads the file: its codes are the stored ones, bit for bit.
    again = extract(encoder, toy, indices=np.array([7, 3, 7]), cache=folder)
    np.testing.assert_array_equal(again, np.asarray(stored)[[7, 3, 7]])


def test_the_cache_key_follows_model_options_and_data(toy, linear, tmp_path):
    encoder, _ = linear
    key = GridCodeCache.key(encoder, toy)
    other_options = load_encoder(str(tmp_path / "linear.pt"), input_range=(0.0, 255.0))
    other_data = Toy(factor_sizes=(4, 5, 6), observation_shape=SHAPE, seed=1)
    save_linear_encoder(tmp_path / "other.pt", n_pixels=256, seed=1)
    other_model = load_encoder(str(tmp_path / "other.pt"))
    keys = {
        GridCodeCache.key(e, d)
        for e, d in [(other_options, toy), (encoder, other_data), (other_model, toy)]
    }
    assert key not in keys and len(keys) == 3


def test_nan_codes_name_the_dimensions_and_leave_no_cache_entry(toy, tmp_path):
    save_nan_encoder(tmp_path / "nan.pt")
    encoder = load_encoder(str(tmp_path / "nan.pt"))
    with pytest.raises(ExtractionError, match=r"in code dimensions 1;"):
        extract(encoder, toy, indices=np.arange(10), cache=False, batch_size=4)
    with pytest.raises(ExtractionError, match=r"code dimensions 1"):
        extract(encoder, toy, indices=np.arange(10), cache=tmp_path / "cache", batch_size=4)
    assert list((tmp_path / "cache").glob("*.npy")) == []
    assert list((tmp_path / "cache").glob(".*")) == []


def test_the_probe_picks_one_of_its_sizes_and_remembers(linear):
    encoder, _ = linear
    uncapped = probe_batch_size(encoder, SHAPE, min_seconds=0.005)
    assert uncapped in PROBE_BATCH_SIZES
    assert probe_batch_size(encoder, SHAPE, max_batch_size=16) == 16
    # A small plan first does not fix a small batch for the larger plans after it.
    assert probe_batch_size(encoder, SHAPE) == uncapped


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_extraction_agrees_with_cpu(toy, tmp_path):
    save_linear_encoder(tmp_path / "linear.pt", n_pixels=256)
    cpu = load_encoder(str(tmp_path / "linear.pt"))
    gpu = load_encoder(str(tmp_path / "linear.pt"), device="cuda")
    rows = np.arange(len(toy))
    expected = extract(cpu, toy, indices=rows, cache=False, batch_size=16)
    got = extract(gpu, toy, indices=rows, cache=False)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_a_slow_renderer_runs_ahead_on_a_thread_and_gives_the_same_codes(toy, linear):
    encoder, weight = linear
    rows = np.arange(3 * READ_ROWS) % len(toy)  # three reads
    threads = set()

    def slow(start: int, stop: int) -> np.ndarray:
        threads.add(threading.current_thread().name)
        time.sleep(0.01)
        return toy.observations_at(rows[start:stop])

    codes = encode_batches(encoder, slow, len(rows), batch_size=100)
    expected = toy.observations_at(rows).reshape(len(rows), -1) @ weight
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)
    assert any(name.startswith("disbench-render") for name in threads)


def test_an_empty_plan_is_an_error(linear):
    encoder, _ = linear
    with pytest.raises(ExtractionError, match="no rows"):
        encode_batches(encoder, lambda a, b: None, 0, batch_size=8)
