"""3D Shapes: the public h5 layout at full size, subsets, and disentanglement_lib's npz."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from disbench.benchmark.datasets import paths
from disbench.benchmark.datasets.files import FileDataset, H5Rows, load_path
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError
from disbench.benchmark.datasets.shapes3d import (
    DLIB_RELATIVE_PATH,
    FACTOR_NAMES,
    FACTOR_SIZES,
    FACTOR_VALUES,
    PUBLISHED_AT,
    RELATIVE_PATH,
    Shapes3D,
    classes_from_values,
)

ROWS = 480_000
WRITTEN = np.array([0, 1, 2, 99_999, 250_000, 479_999])  # rows given real pixels


@pytest.fixture(scope="module", autouse=True)
def _environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(paths.CACHE_ENV_VAR, str(tmp_path_factory.mktemp("cache")))
        for name in paths.DATA_ENV_VARS:
            patch.delenv(name, raising=False)
        yield


def _values(classes: np.ndarray) -> np.ndarray:
    """The label values the public h5 stores for factor classes."""
    return np.stack([FACTOR_VALUES[k][classes[:, k]] for k in range(6)], axis=1)


def _grid() -> np.ndarray:
    return np.stack(np.unravel_index(np.arange(ROWS), FACTOR_SIZES), axis=1)


def _pixels(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)


def _write_full_h5(path: Path, order: np.ndarray) -> np.ndarray:
    """The published layout at full size: ``images`` (480000, 64, 64, 3) uint8, ``labels``
    (480000, 6) float64 of grid rows stored in ``order``. Only the rows ``WRITTEN`` get
    pixels; the others are chunks never written, which HDF5 reads as zeros, so the file
    stays small. Returns the written pixels."""
    pixels = _pixels(WRITTEN.size, seed=5)
    with h5py.File(path, "w") as handle:
        images = handle.create_dataset(
            "images", shape=(ROWS, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3)
        )
        for row, image in zip(WRITTEN, pixels, strict=True):
            images[row] = image
        handle.create_dataset("labels", data=_values(_grid()[order]))
    return pixels


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("full") / "3dshapes.h5"
    return path, _write_full_h5(path, np.arange(ROWS))


def test_values_map_to_classes() -> None:
    classes = _grid()[::997]
    np.testing.assert_array_equal(classes_from_values(_values(classes)), classes)
    assert classes_from_values(np.array([[0.05, 0, 0, 0.75, 0, -30]])) is None
    assert classes_from_values(np.array([[0, 0, 0, 0.75, 4, -30]])) is None
    assert classes_from_values(np.zeros((2, 5))) is None


def test_the_published_h5_layout_loads_as_the_row_major_grid(full: tuple[Path, np.ndarray]) -> None:
    path, pixels = full
    dataset = load_path(path)
    assert type(dataset) is Shapes3D
    assert dataset.is_grid and dataset._order is None and len(dataset) == ROWS
    assert dataset.factor_sizes == FACTOR_SIZES == (10, 10, 10, 8, 4, 15)
    assert dataset.factor_names == FACTOR_NAMES
    assert dataset.observation_shape == (3, 64, 64)
    assert isinstance(dataset._images(), H5Rows)  # chunked: read by h5py slices
    rows = np.random.default_rng(0).integers(0, ROWS, size=2000)
    np.testing.assert_array_equal(dataset.index(dataset.factors_at(rows)), rows)
    np.testing.assert_array_equal(dataset.factors_at(rows), _grid()[rows])
    order = np.array([5, 0, 3, 3, 1])
    observations = dataset.observations_at(WRITTEN[order])
    expected = pixels[order].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(observations, expected)
    assert observations.dtype == np.float32 and observations.shape == (5, 3, 64, 64)
    np.testing.assert_array_equal(dataset.observations_at([3]), np.zeros((1, 3, 64, 64)))
    assert dataset.provenance()["files"] == [paths.file_record(path)]


def test_a_grid_stored_in_another_order_is_addressed_row_major(tmp_path: Path) -> None:
    order = np.arange(ROWS)[::-1]  # stored row r holds grid row 479999 - r
    pixels = _write_full_h5(tmp_path / "reversed.h5", order)
    dataset = Shapes3D.from_file(tmp_path / "reversed.h5")
    assert dataset.is_grid
    grid_rows = ROWS - 1 - WRITTEN
    np.testing.assert_array_equal(dataset.factors_at(grid_rows), _grid()[grid_rows])
    expected = pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(dataset.observations_at(grid_rows), expected)
    np.testing.assert_array_equal(dataset.observations(_grid()[grid_rows]), expected)


def test_a_subset_is_a_labelled_sample_with_the_published_classes(tmp_path: Path) -> None:
    rows = np.sort(np.random.default_rng(1).choice(ROWS, size=300, replace=False))
    rows = np.concatenate([rows, rows[:2]])  # two rows stored twice
    classes, pixels = _grid()[rows], _pixels(302, seed=2)
    with h5py.File(tmp_path / "subset.h5", "w") as handle:
        handle["images"] = pixels  # contiguous: memory-mapped
        handle["labels"] = _values(classes)
    dataset = Shapes3D.from_file(tmp_path / "subset.h5")
    assert not dataset.is_grid and len(dataset) == 302
    assert dataset.factor_sizes == FACTOR_SIZES
    assert isinstance(dataset._images(), np.memmap)
    np.testing.assert_array_equal(dataset.factors_at(np.arange(302)), classes)
    np.testing.assert_array_equal(dataset.index(classes[[300, 5]]), [0, 5])
    np.testing.assert_array_equal(
        dataset.observations_at([301, 7]),
        pixels[[301, 7]].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255),
    )
    # By content alone, fewer than 480,000 rows are the generic layout.
    generic = load_path(tmp_path / "subset.h5")
    assert type(generic) is FileDataset and generic.factor_names[0] == "factor_0"


def test_disentanglement_lib_npz_layout(tmp_path: Path) -> None:
    """dlib's npz: images (..., 64, 64, 3) over the six grid axes, labels (..., 6)."""
    leading = (2, 1, 1, 2, 1, 3)
    classes = np.stack(np.unravel_index(np.arange(12), leading), axis=1) * [4, 0, 0, 3, 0, 5]
    pixels = _pixels(12, seed=3)
    np.savez(
        tmp_path / "dlib.npz",
        images=pixels.reshape(*leading, 64, 64, 3),
        labels=_values(classes).reshape(*leading, 6),
    )
    dataset = Shapes3D.from_file(tmp_path / "dlib.npz")
    assert not dataset.is_grid and len(dataset) == 12
    assert isinstance(dataset._images(), np.memmap)
    np.testing.assert_array_equal(dataset.factors_at(np.arange(12)), classes)
    np.testing.assert_array_equal(dataset.index(classes), np.arange(12))
    np.testing.assert_array_equal(
        dataset.observations(classes[[11, 4]]),
        pixels[[11, 4]].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255),
    )


def test_integer_class_labels_are_accepted(tmp_path: Path) -> None:
    classes = _grid()[[5, 70_000, 479_999]]
    with h5py.File(tmp_path / "classes.h5", "w") as handle:
        handle["images"] = _pixels(3, seed=4)
        handle["labels"] = classes
    np.testing.assert_array_equal(
        Shapes3D.from_file(tmp_path / "classes.h5").factors_at([0, 1, 2]), classes
    )


def test_bad_3d_shapes_files_are_refused(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "values.h5", "w") as handle:
        handle["images"] = _pixels(2, seed=0)
        handle["labels"] = np.full((2, 6), 0.55)
    with pytest.raises(DataFileError, match=r"values\.h5: 'labels' are not 3D Shapes factor"):
        Shapes3D.from_file(tmp_path / "values.h5")
    with h5py.File(tmp_path / "shape.h5", "w") as handle:
        handle["images"] = np.zeros((2, 32, 32, 3), np.uint8)
        handle["labels"] = np.zeros((2, 6))
    with pytest.raises(DataFileError, match=r"'images' must be \(N, 64, 64, 3\) uint8"):
        Shapes3D.from_file(tmp_path / "shape.h5")
    with h5py.File(tmp_path / "rows.h5", "w") as handle:
        handle["images"] = _pixels(2, seed=0)
        handle["labels"] = np.zeros((3, 6))
    with pytest.raises(DataFileError, match=r"'labels' must be \(2, 6\) for 2 images"):
        Shapes3D.from_file(tmp_path / "rows.h5")
    with h5py.File(tmp_path / "nine.h5", "w") as handle:
        handle.create_dataset("images", data=_pixels(2, seed=0)[None], chunks=True)
        handle["labels"] = _values(np.zeros((2, 6), int)).reshape(1, 2, 6)
    with pytest.raises(DataFileError, match=r"must be stored as \(N, 64, 64, 3\) in an HDF5"):
        Shapes3D.from_file(tmp_path / "nine.h5")
    with h5py.File(tmp_path / "keys.h5", "w") as handle:
        handle["images"] = _pixels(2, seed=0)
    with pytest.raises(DataFileError, match=r"keys\.h5: has no 'labels'"):
        Shapes3D.from_file(tmp_path / "keys.h5")


def test_from_data_dir_prefers_the_h5_then_dlibs_npz(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError) as caught:
        Shapes3D.from_data_dir(tmp_path)
    message = str(caught.value)
    assert RELATIVE_PATH in message and PUBLISHED_AT in message and DLIB_RELATIVE_PATH in message
    npz = tmp_path / DLIB_RELATIVE_PATH
    npz.parent.mkdir(parents=True)
    np.savez(npz, images=_pixels(1, seed=0), labels=_values(np.zeros((1, 6), int)))
    assert Shapes3D.from_data_dir(tmp_path).path == npz.resolve()
    with h5py.File(tmp_path / RELATIVE_PATH, "w") as handle:
        handle["images"] = _pixels(1, seed=0)
        handle["labels"] = _values(np.zeros((1, 6), int))
    assert Shapes3D.from_data_dir(tmp_path).path == (tmp_path / RELATIVE_PATH).resolve()
