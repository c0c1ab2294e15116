"""Cars3D: real .mat files written here, loaded through the real loader."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.io
from PIL import Image

from disbench.benchmark.datasets.cars3d import ARCHIVE_URL, Cars3D
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "cache"))
    for name in ("DISBENCH_DATA", "DISENTANGLEMENT_LIB_DATA"):
        monkeypatch.delenv(name, raising=False)


def write_cars(folder, names, side=8, seed=0):
    """Car files with random images ``(side, side, 3, 24, 4)`` uint8; returns the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in names:
        arrays[name] = rng.integers(0, 256, size=(side, side, 3, 24, 4), dtype=np.uint8)
        scipy.io.savemat(folder / name, {"im": arrays[name]})
    return arrays


def expected_image(im, elevation, azimuth):
    """disentanglement_lib's image of (elevation, azimuth): PIL Lanczos to 64×64, / 255, CHW."""
    picture = Image.fromarray(im[:, :, :, azimuth, elevation]).resize((64, 64), Image.LANCZOS)
    return np.moveaxis(np.asarray(picture), 2, 0).astype(np.float32) / 255.0


def test_rows_are_the_grid_and_pixels_the_resized_files(tmp_path):
    # Written out of name order: objects are the files sorted by name.
    arrays = write_cars(tmp_path / "cars", ["car_c_mesh.mat", "car_a_mesh.mat", "car_b_mesh.mat"])
    cars = Cars3D.from_folder(data_dir=tmp_path)
    assert cars.factor_sizes == (4, 24, 3) and len(cars) == 288 and cars.is_grid
    assert [path.name for path in cars.paths] == [
        "car_a_mesh.mat",
        "car_b_mesh.mat",
        "car_c_mesh.mat",
    ]
    np.testing.assert_array_equal(
        cars.factors_at([0, 1, 3, 287]), [[0, 0, 0], [0, 0, 1], [0, 1, 0], [3, 23, 2]]
    )
    rows = np.array([287, 5, 100, 5, 0, 200])
    images = cars.observations_at(rows)
    assert images.dtype == np.float32 and images.shape == (6, 3, 64, 64)
    names = ["car_a_mesh.mat", "car_b_mesh.mat", "car_c_mesh.mat"]
    for image, (elevation, azimuth, obj) in zip(images, cars.factors_at(rows), strict=True):
        np.testing.assert_array_equal(image, expected_image(arrays[names[obj]], elevation, azimuth))
    factors = cars.factors_at(rows)
    np.testing.assert_array_equal(cars.observations(factors), images)
    np.testing.assert_array_equal(cars.index(factors), rows)


def test_published_size_images_equal_disentanglement_libs_thumbnail(tmp_path):
    arrays = write_cars(tmp_path / "cars", ["car_001_mesh.mat"], side=128, seed=1)
    im = arrays["car_001_mesh.mat"]
    cars = Cars3D(tmp_path / "cars")
    images = cars.observations([[3, 7, 0], [0, 0, 0]])
    for image, (elevation, azimuth) in zip(images, [(3, 7), (0, 0)], strict=True):
        picture = Image.fromarray(im[:, :, :, azimuth, elevation])
        picture.thumbnail((64, 64), Image.LANCZOS)
        np.testing.assert_array_equal(
            image, np.moveaxis(np.asarray(picture), 2, 0) / np.float32(255)
        )


def test_files_are_read_when_asked_and_kept_in_a_small_cache(tmp_path):
    arrays = write_cars(tmp_path / "cars", ["a.mat", "b.mat"])
    broken = tmp_path / "cars" / "c.mat"
    broken.write_bytes(b"not a MATLAB file at all" * 10)
    cars = Cars3D(tmp_path / "cars", cache_size=1)  # the broken file is not read yet
    first = cars.observations([[1, 2, 0]])
    np.testing.assert_array_equal(first[0], expected_image(arrays["a.mat"], 1, 2))
    with pytest.raises(DataFileError, match=r"c\.mat: is not a readable MATLAB \.mat file"):
        cars.observations([[0, 0, 2]])
    (tmp_path / "cars" / "a.mat").unlink()
    np.testing.assert_array_equal(cars.observations([[1, 2, 0]]), first)  # from the cache
    cars.observations([[0, 0, 1]])  # evicts car 0
    with pytest.raises(DataFileError, match=r"a\.mat: cannot be read"):
        cars.observations([[1, 2, 0]])


def test_provenance_hashes_the_files(tmp_path):
    write_cars(tmp_path / "cars", ["a.mat", "b.mat"])
    cars = Cars3D(tmp_path / "cars")
    files = cars.provenance()["files"]
    assert [entry["sha256"] for entry in files] == [
        hashlib.sha256((tmp_path / "cars" / name).read_bytes()).hexdigest()
        for name in ("a.mat", "b.mat")
    ]
    before = cars.fingerprint
    write_cars(tmp_path / "cars", ["b.mat"], seed=9)
    assert Cars3D(tmp_path / "cars").fingerprint != before
    assert Cars3D.published["cars"]["url"] == ARCHIVE_URL


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    folder = tmp_path / "cars"
    folder.mkdir()
    with pytest.raises(DataFileError, match=r"holds no \.mat files"):
        Cars3D(folder)
    scipy.io.savemat(folder / "other.mat", {"images": np.zeros((8, 8, 3, 24, 4), np.uint8)})
    with pytest.raises(DataFileError, match=r"other\.mat: has no variable 'im'"):
        Cars3D(folder).observations_at([0])
    scipy.io.savemat(folder / "other.mat", {"im": np.zeros((8, 8, 3, 4, 24), np.uint8)})
    with pytest.raises(
        DataFileError, match=r"other\.mat: variable 'im' is uint8 of shape \(8, 8, 3, 4, 24\)"
    ):
        Cars3D(folder).observations_at([0])
    scipy.io.savemat(folder / "other.mat", {"im": np.zeros((8, 8, 3, 24, 4), np.float64)})
    with pytest.raises(DataFileError, match="expected uint8"):
        Cars3D(folder).observations_at([0])
    with pytest.raises(DataFileNotFoundError, match=r"nips2015-analogy-data\.tar\.gz") as error:
        Cars3D.from_folder(data_dir=tmp_path / "elsewhere")
    assert "'cars'" in str(error.value) and str(tmp_path / "elsewhere") in str(error.value)
    with pytest.raises(ValueError, match=r"row indices out of range 0\.\.95"):
        Cars3D(folder).observations_at([96])
