"""dSprites: the real files of shared/data, and files of the official layout written here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from disbench.benchmark.datasets import paths
from disbench.benchmark.datasets.dsprites import (
    FACTOR_NAMES,
    PUBLISHED_AT,
    RELATIVE_PATH,
    DSprites,
)
from disbench.benchmark.datasets.files import load_path
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Module scope: the shared grid's images are decompressed into this cache once.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(paths.CACHE_ENV_VAR, str(tmp_path_factory.mktemp("cache")))
        for name in paths.DATA_ENV_VARS:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def grid_file(shared_data: Path) -> Path:
    return shared_data / "dsprites" / "dsprites_grid_3x6x10x16x16.npz"


@pytest.fixture(scope="module")
def grid(grid_file: Path) -> DSprites:
    return DSprites.from_file(grid_file)


@pytest.fixture(scope="module")
def stored(grid_file: Path) -> dict[str, np.ndarray]:
    with np.load(grid_file, allow_pickle=False) as archive:
        return {key: archive[key] for key in ("imgs", "latents_classes")}


def test_the_shared_grid_loads_as_the_46080_row_grid(grid: DSprites) -> None:
    assert len(grid) == 46_080
    assert grid.is_grid
    assert grid.factor_sizes == (3, 6, 10, 16, 16)
    assert grid.factor_names == FACTOR_NAMES == ("shape", "scale", "orientation", "posX", "posY")
    assert grid.observation_shape == (1, 64, 64)
    assert isinstance(grid._images(), np.memmap)  # decompressed once, then mapped


def test_grid_rows_round_trip_and_match_the_stored_classes(
    grid: DSprites, stored: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    rows = rng.integers(0, len(grid), size=500)
    factors = grid.factors_at(rows)
    np.testing.assert_array_equal(factors, stored["latents_classes"][rows])
    np.testing.assert_array_equal(grid.index(factors), rows)
    np.testing.assert_array_equal(grid.index(grid.factors_at(np.arange(46_080))), np.arange(46_080))


def test_grid_observations_are_the_stored_zero_one_pixels(
    grid: DSprites, stored: dict[str, np.ndarray]
) -> None:
    rows = np.array([46_079, 0, 12_345, 12_345])
    observations = grid.observations_at(rows)
    assert observations.dtype == np.float32 and observations.shape == (4, 1, 64, 64)
    np.testing.assert_array_equal(observations[:, 0], stored["imgs"][rows].astype(np.float32))
    assert set(np.unique(observations)) == {0.0, 1.0}
    np.testing.assert_array_equal(grid.observations(grid.factors_at(rows)), observations)


def test_sample_indices_draw_factors_like_disentanglement_lib(grid: DSprites) -> None:
    indices = grid.sample_indices(1000, np.random.default_rng(7))
    factors = np.random.default_rng(7).integers(0, grid.factor_sizes, size=(1000, 5))
    np.testing.assert_array_equal(indices, np.ravel_multi_index(factors.T, grid.factor_sizes))


def test_provenance_names_the_file_and_its_digest(grid: DSprites, grid_file: Path) -> None:
    provenance = grid.provenance()
    assert provenance["files"] == [paths.file_record(grid_file)]
    assert provenance["factor_sizes"] == [3, 6, 10, 16, 16]
    assert provenance["params"]["format"] == "dsprites"
    assert provenance["params"]["pixel_max"] == 1.0


def test_the_shared_random_sample_is_a_labelled_sample(shared_data: Path) -> None:
    path = shared_data / "dsprites" / "dsprites_random20000.npz"
    sample = load_path(path)
    assert type(sample) is DSprites and not sample.is_grid
    assert len(sample) == 20_000 and sample.factor_sizes == (3, 6, 40, 32, 32)
    with np.load(path, allow_pickle=False) as archive:
        classes, imgs = archive["latents_classes"], archive["imgs"][:50]
    np.testing.assert_array_equal(sample.factors_at(np.arange(20_000)), classes)
    found = sample.index(classes)
    np.testing.assert_array_equal(classes[found], classes)
    assert np.all(found <= np.arange(20_000))
    np.testing.assert_array_equal(sample.observations_at(np.arange(50))[:, 0], imgs)
    keys = np.ravel_multi_index(classes.T, sample.factor_sizes)
    absent = np.setdiff1d(np.arange(1000), keys)[:2]
    rows = np.stack(np.unravel_index(absent, sample.factor_sizes), axis=1)
    with pytest.raises(ValueError, match=r"2 factor rows are not stored in dsprites"):
        sample.index(np.concatenate([classes[:3], rows]))


def _official_layout(path: Path, order: np.ndarray, *, colour: np.ndarray | None = None) -> None:
    """An npz of the official layout over a (2, 2, 3, 2, 2) grid, rows stored in ``order``."""
    sizes = (2, 2, 3, 2, 2)
    grid = np.stack(np.unravel_index(np.arange(48), sizes), axis=1)[order]
    imgs = np.zeros((48, 64, 64), dtype=np.uint8)
    imgs[np.arange(48), grid @ [1, 2, 4, 8, 16], grid @ [16, 8, 4, 2, 1]] = 1  # unique pixels
    colour = np.zeros(48, dtype=np.int64) if colour is None else colour
    np.savez_compressed(
        path,
        imgs=imgs,
        latents_classes=np.column_stack([colour, grid]),
        latents_values=np.column_stack([colour, grid]).astype(np.float64),
    )


def test_official_layout_in_any_row_order_is_a_grid(tmp_path: Path) -> None:
    order = np.random.default_rng(0).permutation(48)
    _official_layout(tmp_path / "d.npz", order)
    dataset = DSprites.from_file(tmp_path / "d.npz")
    assert dataset.is_grid and dataset.factor_sizes == (2, 2, 3, 2, 2)
    factors = dataset.factors_at(np.arange(48))
    observations = dataset.observations(factors)
    y, x = factors @ [1, 2, 4, 8, 16], factors @ [16, 8, 4, 2, 1]
    np.testing.assert_array_equal(observations[np.arange(48), 0, y, x], np.ones(48))
    assert observations.sum() == 48


def test_from_data_dir_resolves_the_official_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dlib" / RELATIVE_PATH
    target.parent.mkdir(parents=True)
    _official_layout(target, np.arange(48))
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "dlib"))
    assert DSprites.from_data_dir().path == target.resolve()
    assert DSprites.from_data_dir(tmp_path / "elsewhere").path == target.resolve()
    monkeypatch.delenv("DISENTANGLEMENT_LIB_DATA")
    with pytest.raises(DataFileNotFoundError) as caught:
        DSprites.from_data_dir(tmp_path / "elsewhere")
    assert RELATIVE_PATH in str(caught.value) and PUBLISHED_AT in str(caught.value)
    assert str(tmp_path / "elsewhere") in str(caught.value)


def test_bad_dsprites_files_are_refused(tmp_path: Path) -> None:
    _official_layout(tmp_path / "colour.npz", np.arange(48), colour=np.arange(48) % 2)
    with pytest.raises(DataFileError, match=r"colour\.npz: the first \(colour\) column"):
        DSprites.from_file(tmp_path / "colour.npz")
    np.savez(tmp_path / "keys.npz", imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DataFileError, match=r"keys\.npz: has no 'latents_classes'"):
        DSprites.from_file(tmp_path / "keys.npz")
    np.savez(
        tmp_path / "cols.npz",
        imgs=np.zeros((2, 64, 64), np.uint8),
        latents_classes=np.zeros((2, 4)),
    )
    with pytest.raises(DataFileError, match=r"must be \(N, 6\) or \(N, 5\) integers"):
        DSprites.from_file(tmp_path / "cols.npz")
    np.savez(
        tmp_path / "neg.npz",
        imgs=np.zeros((2, 64, 64), np.uint8),
        latents_classes=-np.ones((2, 5), int),
    )
    with pytest.raises(DataFileError, match="negative classes"):
        DSprites.from_file(tmp_path / "neg.npz")
    np.savez(
        tmp_path / "rgb.npz",
        imgs=np.zeros((2, 64, 64, 3), np.uint8),
        latents_classes=np.zeros((2, 5), int),
    )
    with pytest.raises(DataFileError, match=r"'imgs' must be \(N, 64, 64\) uint8"):
        DSprites.from_file(tmp_path / "rgb.npz")
    np.savez(
        tmp_path / "255.npz",
        imgs=np.full((2, 64, 64), 255, np.uint8),
        latents_classes=np.array([[0] * 5, [1] * 5]),
    )
    with pytest.raises(DataFileError, match="pixel value 255 exceeds 1"):
        DSprites.from_file(tmp_path / "255.npz")
