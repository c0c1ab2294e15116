"""Interventional metrics through ``evaluate``: one extraction, plans drawn from samplers."""

from __future__ import annotations

import gin
import numpy as np
import pytest
import torch
from torch import nn

from disbench.adapters import load_encoder
from disbench.benchmark.datasets import FiniteDataset, load_dataset
from disbench.benchmark.evaluate import EvaluationError, evaluate
from disbench.models.conv import ConvEncoder

Z_METRICS = ["z_diff", "z_min_var", "z_max_var"]
SMALL = {"num_train": 300, "num_eval": 200, "num_test": 200}


class FactorPixels(FiniteDataset):
    """A grid whose observation of a factor row is that row, scaled into [0, 1] pixels."""

    name = "factor-pixels"
    factor_names = ("a", "b", "c")
    factor_sizes = (4, 5, 6)
    observation_shape = (1, 1, 3)

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    def factors_at(self, indices):
        return np.stack(np.unravel_index(indices, self.factor_sizes), axis=1).astype(np.int64)

    def observations_at(self, indices):
        scaled = self.factors_at(indices) / (np.asarray(self.factor_sizes) - 1)
        return scaled.astype(np.float32).reshape(-1, 1, 1, 3)


class Linear(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight


def save(path, weight) -> str:
    torch.jit.script(Linear(torch.tensor(weight, dtype=torch.float32))).save(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def small_batches():
    gin.parse_config(
        "\n".join(f"{name}.batch_size = 16" for name in Z_METRICS)
        + "\nz_max_var.num_train = 300\nz_max_var.num_eval = 200"
    )
    yield
    gin.clear_config()


def scores(frame):
    return frame.set_index(["metric", "score"])["value"]


def test_an_encoder_returning_the_factors_scores_one(tmp_path):
    identity = save(tmp_path / "identity.pt", np.eye(3))
    values = scores(evaluate(identity, FactorPixels(), Z_METRICS, sample_sizes=SMALL))
    for metric in Z_METRICS:
        assert values[metric, "train_accuracy"] == 1.0
        assert values[metric, "eval_accuracy"] == 1.0
    assert values["z_min_var", "num_active_dims"] == 3


def test_mixing_lowers_the_scores_and_a_constant_encoder_is_at_chance(tmp_path):
    angle = np.pi / 4
    rotation = np.eye(3)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    mixed = evaluate(
        save(tmp_path / "m.pt", rotation), FactorPixels(), Z_METRICS, sample_sizes=SMALL
    )
    constant = evaluate(
        save(tmp_path / "c.pt", np.zeros((3, 3))), FactorPixels(), Z_METRICS, sample_sizes=SMALL
    )
    mixed, constant = scores(mixed), scores(constant)
    assert 0.5 < mixed["z_min_var", "eval_accuracy"] < 0.85  # factors a and b share two codes
    # No information: z_diff guesses about one factor in three; no active code scores 0.
    assert abs(constant["z_diff", "eval_accuracy"] - 1 / 3) < 0.1
    assert constant["z_min_var", "eval_accuracy"] == 0.0
    assert constant["z_min_var", "num_active_dims"] == 0


def test_the_same_seed_gives_identical_numbers_and_records(tmp_path):
    model = save(tmp_path / "identity.pt", np.eye(3) + 0.3)
    first = evaluate(
        model, FactorPixels(), Z_METRICS, seed=1, sample_sizes=SMALL, store=tmp_path / "store"
    )
    again = evaluate(model, FactorPixels(), Z_METRICS, seed=1, sample_sizes=SMALL, force=True)
    np.testing.assert_array_equal(first["value"], again["value"])
    records = {p.stem for p in (tmp_path / "store").glob("*.json")}
    assert len(records) == 3


def test_precomputed_codes_form_a_labelled_sample(tmp_path):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, [3, 4], size=(4000, 2))
    np.savez(
        tmp_path / "codes.npz", codes=factors + 0.01 * rng.normal(size=(4000, 2)), factors=factors
    )
    values = scores(evaluate(str(tmp_path / "codes.npz"), metrics=Z_METRICS, sample_sizes=SMALL))
    assert values["z_min_var", "eval_accuracy"] == 1.0
    sparse = rng.integers(0, [50, 50], size=(60, 2))
    np.savez(tmp_path / "sparse.npz", codes=sparse.astype(float), factors=sparse)
    with pytest.raises(EvaluationError, match=r"z_max_var: cannot plan it here: .*too few rows"):
        evaluate(str(tmp_path / "sparse.npz"), metrics=["z_max_var"], sample_sizes=SMALL)


def test_every_metric_runs_on_the_real_dsprites_grid(shared_data, tmp_path):
    grid = load_dataset(shared_data / "dsprites" / "dsprites_grid_3x6x10x16x16.npz")
    torch.manual_seed(0)
    torch.jit.script(ConvEncoder(channels=1, latents=6).eval()).save(str(tmp_path / "conv.pt"))
    encoder = load_encoder(str(tmp_path / "conv.pt"))
    gin.parse_config('dci.predictor = "hist_gbt"')
    frame = evaluate(encoder, grid, sample_sizes=SMALL, cache=tmp_path / "cache")
    assert set(frame["metric"]) >= {"mig", "dci", "z_diff", "z_min_var", "z_max_var"}
    assert np.isfinite(frame["value"]).all()
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1  # one grid encoding for all
