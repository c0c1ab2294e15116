"""Lazy reading of npz and HDF5 files, the generic file layout, and recognising layouts."""

from __future__ import annotations

import pickle
import tracemalloc
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from disbench.benchmark.datasets import paths
from disbench.benchmark.datasets.dsprites import DSprites
from disbench.benchmark.datasets.files import (
    ArrayFile,
    FileDataset,
    H5Rows,
    classes_from_labels,
    grid_order,
    load_path,
    take_rows,
)
from disbench.benchmark.datasets.paths import DataFileError


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "cache"))


def _grid(sizes: tuple[int, ...]) -> np.ndarray:
    """All factor rows of a grid, row-major."""
    return np.stack(np.unravel_index(np.arange(np.prod(sizes)), sizes), axis=1)


def _pixels(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


# --- take_rows and the readers ------------------------------------------------------------


def test_take_rows_keeps_the_order_and_repeats(tmp_path: Path) -> None:
    data = _pixels(50, (2, 3))
    indices = np.array([7, 3, 3, 49, 0, 7])
    np.testing.assert_array_equal(take_rows(data, indices), data[indices])
    assert take_rows(data, np.array([], dtype=int)).shape == (0, 2, 3)
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle.create_dataset("a", data=data, chunks=(4, 2, 3), compression="gzip")
    rows = H5Rows(tmp_path / "x.h5", "a")
    np.testing.assert_array_equal(take_rows(rows, indices), data[indices])
    np.testing.assert_array_equal(take_rows(rows, np.arange(10, 30)), data[10:30])


def test_stored_npz_member_is_memory_mapped_at_its_offset(tmp_path: Path) -> None:
    data = _pixels(40, (8, 8, 3))
    np.savez(tmp_path / "x.npz", images=data, labels=np.arange(40))
    file = ArrayFile(tmp_path / "x.npz")
    assert file.format == "npz" and file.keys() == ["images", "labels"]
    images = file.open("images")
    assert isinstance(images, np.memmap)
    assert Path(images.filename) == (tmp_path / "x.npz").resolve()
    np.testing.assert_array_equal(images, data)
    assert file.header("images") == ((40, 8, 8, 3), np.dtype(np.uint8))


def test_fortran_ordered_member_is_mapped_in_its_order(tmp_path: Path) -> None:
    data = np.asfortranarray(_pixels(6, (5,)))
    np.savez(tmp_path / "x.npz", images=data)
    np.testing.assert_array_equal(ArrayFile(tmp_path / "x.npz").open("images"), data)


def test_compressed_member_is_decompressed_once_into_the_cache(tmp_path: Path) -> None:
    data = _pixels(40, (8, 8))
    np.savez_compressed(tmp_path / "x.npz", imgs=data)
    file = ArrayFile(tmp_path / "x.npz")
    images = file.open("imgs", in_memory_limit=0)
    assert isinstance(images, np.memmap)
    copy = Path(images.filename)
    assert copy.parent == tmp_path / "cache" / "npz"
    assert copy.name == f"{paths.file_sha256(tmp_path / 'x.npz')}-imgs.npy"
    np.testing.assert_array_equal(images, data)
    written = copy.stat().st_mtime_ns
    again = ArrayFile(tmp_path / "x.npz").open("imgs", in_memory_limit=0)
    assert Path(again.filename) == copy and copy.stat().st_mtime_ns == written
    assert [p.suffix for p in copy.parent.iterdir()] == [".npy"]
    # Under the limit a compressed member is simply read.
    small = file.open("imgs")
    assert not isinstance(small, np.memmap)
    np.testing.assert_array_equal(small, data)


def test_h5_contiguous_is_memory_mapped_and_chunked_is_read_by_slices(tmp_path: Path) -> None:
    data = _pixels(30, (4, 4, 3))
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle.create_dataset("plain", data=data)
        handle.create_dataset("chunked", data=data, chunks=(5, 4, 4, 3))
        handle.create_dataset("packed", data=data, compression="gzip")
    file = ArrayFile(tmp_path / "x.h5")
    assert file.format == "h5"
    plain = file.open("plain")
    assert isinstance(plain, np.memmap)
    np.testing.assert_array_equal(plain, data)
    for key in ("chunked", "packed"):
        rows = file.open(key)
        assert isinstance(rows, H5Rows)
        np.testing.assert_array_equal(take_rows(rows, np.array([29, 0, 5])), data[[29, 0, 5]])


def test_reading_a_few_rows_of_a_large_file_does_not_load_it(tmp_path: Path) -> None:
    rows, shape = 4000, (64, 64, 3)  # 49 MB of pixels
    images = np.zeros((rows, *shape), dtype=np.uint8)
    images[::97] = 200
    np.savez(tmp_path / "big.npz", images=images, factors=_grid((40, 100)))
    del images
    tracemalloc.start()
    try:
        dataset = FileDataset.from_file(tmp_path / "big.npz")
        observations = dataset.observations_at(np.array([97, 3, 3880]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20  # the factor table (64 kB) and three images, not 49 MB
    assert isinstance(dataset._images(), np.memmap)
    np.testing.assert_array_equal(observations[:, 0, 0, 0], np.float32([200, 0, 200]) / 255)


# --- bad files -------------------------------------------------------------------------------


def test_truncated_npz_is_refused_naming_the_file(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", images=_pixels(20, (8, 8)), factors=np.arange(20))
    content = (tmp_path / "x.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(content[: len(content) // 2])
    with pytest.raises(DataFileError, match=r"cut\.npz: neither .*or truncated"):
        load_path(tmp_path / "cut.npz")


def test_corrupt_compressed_member_is_refused_naming_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.savez_compressed(tmp_path / "x.npz", imgs=(rng.random((200, 64, 64)) < 0.5).astype("u1"))
    content = bytearray((tmp_path / "x.npz").read_bytes())
    middle = len(content) // 3
    content[middle : middle + 64] = bytes(64)
    (tmp_path / "bad.npz").write_bytes(bytes(content))
    with pytest.raises(DataFileError, match=r"bad\.npz: array 'imgs' is (truncated or )?corrupt"):
        ArrayFile(tmp_path / "bad.npz").open("imgs", in_memory_limit=0)
    assert not list((tmp_path / "cache" / "npz").glob("*.npy"))


def test_truncated_h5_is_refused_naming_the_file(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle.create_dataset("images", data=_pixels(50, (16, 16, 3)))
        handle.create_dataset("factors", data=np.arange(50)[:, None])
    content = (tmp_path / "x.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(content[: len(content) // 2])
    with pytest.raises(DataFileError, match=r"cut\.h5: .*(truncated|HDF5)"):
        load_path(tmp_path / "cut.h5")


def test_pickled_object_arrays_are_refused(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "x.npz",
        images=np.empty(3, dtype=object),
        factors=np.array([{"a": 1}, None, 2], dtype=object),
    )
    file = ArrayFile(tmp_path / "x.npz")
    for action in (lambda: file.read("factors"), lambda: file.open("images")):
        with pytest.raises(DataFileError, match=r"x\.npz: .*Python objects \(a pickle\)"):
            action()
    with pytest.raises(DataFileError, match="never unpickles"):
        load_path(tmp_path / "x.npz")


def test_files_that_are_not_arrays_or_miss_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.npz").write_text("hello")
    with pytest.raises(DataFileError, match=r"notes\.npz: neither an \.npz"):
        load_path(tmp_path / "notes.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_path(tmp_path / "absent.npz")
    np.savez(tmp_path / "codes.npz", codes=np.zeros((4, 2)))
    with pytest.raises(DataFileError, match=r"holds codes; expected one of the layouts"):
        load_path(tmp_path / "codes.npz")
    np.savez(tmp_path / "nofactors.npz", images=_pixels(4, (8, 8)), other=np.zeros(4))
    with pytest.raises(DataFileError, match=r"has no array 'factors'"):
        ArrayFile(tmp_path / "nofactors.npz").read("factors")


def test_wrong_shapes_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", images=_pixels(5, (8, 8)), factors=np.arange(6)[:, None])
    with pytest.raises(DataFileError, match=r"5 images but factor rows of shape \(6, 1\)"):
        load_path(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", images=_pixels(5, (8,)), factors=np.arange(5)[:, None])
    with pytest.raises(DataFileError, match=r"must be \(N, H, W\).*got shape \(5, 8\)"):
        load_path(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", images=_pixels(5, (8, 8)), factors=np.arange(5))
    with pytest.raises(DataFileError, match=r"'factors' must be \(N, K\) factor rows"):
        load_path(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", images=np.zeros((2, 8, 8), "u2"), factors=np.arange(2)[:, None])
    with pytest.raises(DataFileError, match="must be uint8, bool or float; got uint16"):
        load_path(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", images=np.full((2, 8, 8), 2.0), factors=np.arange(2)[:, None])
    with pytest.raises(DataFileError, match=r"must lie in \[0, 1\]; found values in \[2, 2\]"):
        load_path(tmp_path / "e.npz")


# --- grids, labelled samples and the generic layout -----------------------------------------


def test_grid_order_finds_the_permutation_of_a_shuffled_grid() -> None:
    sizes = (2, 3, 4)
    grid = _grid(sizes)
    assert grid_order(grid, sizes) == (True, None)
    shuffle = np.random.default_rng(0).permutation(24)
    is_grid, order = grid_order(grid[shuffle], sizes)
    assert is_grid
    np.testing.assert_array_equal(grid[shuffle][order], grid)
    assert grid_order(np.concatenate([grid[:-1], grid[:1]]), sizes) == (False, None)
    assert grid_order(grid[:-1], sizes) == (False, None)


def test_shuffled_grid_file_is_a_grid_addressed_row_major(tmp_path: Path) -> None:
    sizes = (3, 2, 4)
    shuffle = np.random.default_rng(3).permutation(24)
    factors = _grid(sizes)[shuffle]
    images = _pixels(24, (6, 5, 3))
    np.savez(tmp_path / "g.npz", images=images, factors=factors, factor_names=["a", "b", "c"])
    dataset = load_path(tmp_path / "g.npz")
    assert type(dataset) is FileDataset
    assert dataset.is_grid and len(dataset) == 24
    assert dataset.factor_sizes == sizes and dataset.factor_names == ("a", "b", "c")
    assert dataset.observation_shape == (3, 6, 5)
    rows = np.arange(24)
    np.testing.assert_array_equal(dataset.factors_at(rows), _grid(sizes))
    np.testing.assert_array_equal(dataset.index(dataset.factors_at(rows)), rows)
    # The observation of a factor row is the stored image with those factors, / 255, NCHW.
    observed = dataset.observations(factors)
    expected = images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(observed, expected)
    assert observed.dtype == np.float32 and observed.flags.c_contiguous
    assert dataset.name == "g"


def test_labelled_sample_indexes_the_first_stored_row(tmp_path: Path) -> None:
    factors = np.array([[0, 1], [2, 0], [0, 1], [1, 1]])
    images = _pixels(4, (4, 4))
    with h5py.File(tmp_path / "s.h5", "w") as handle:
        handle["images"] = images
        handle["labels"] = factors
        handle["factor_names"] = np.array([b"colour", b"digit"])
    dataset = load_path(tmp_path / "s.h5")
    assert not dataset.is_grid and len(dataset) == 4
    assert dataset.factor_sizes == (3, 2) and dataset.factor_names == ("colour", "digit")
    np.testing.assert_array_equal(dataset.index(factors), [0, 1, 0, 3])
    np.testing.assert_array_equal(dataset.factors_at([3, 2]), factors[[3, 2]])
    np.testing.assert_array_equal(
        dataset.observations_at([3, 0]), images[[3, 0], None].astype(np.float32) / 255
    )
    with pytest.raises(ValueError, match=r"2 factor rows are not stored .*\[0, 0\]; \[2, 1\]"):
        dataset.index([[0, 0], [2, 1], [1, 1]])
    rng = np.random.default_rng(0)
    expected = np.random.default_rng(0).integers(0, 4, size=7)
    np.testing.assert_array_equal(dataset.sample_indices(7, rng), expected)


def test_real_valued_labels_become_classes_with_their_values(tmp_path: Path) -> None:
    values = np.array([-0.5, 0.25, 3.0])
    labels = np.stack([values[[2, 0, 1, 0]], [1.5, 1.5, 2.5, 2.5]], axis=1)
    images = np.random.default_rng(0).random((4, 5, 5, 1)).astype(np.float32)
    np.savez(tmp_path / "r.npz", images=images, labels=labels)
    dataset = load_path(tmp_path / "r.npz", factor_names=["x", "y"])
    np.testing.assert_array_equal(
        dataset.factors_at(np.arange(4)), [[2, 0], [0, 0], [1, 1], [0, 1]]
    )
    np.testing.assert_array_equal(dataset.factor_values[0], values)
    np.testing.assert_array_equal(dataset.factor_values[1], [1.5, 2.5])
    assert dataset.factor_names == ("x", "y") and not dataset.is_grid
    # Float pixels are kept as stored, channels first.
    np.testing.assert_array_equal(dataset.observations_at([1]), images[[1]].transpose(0, 3, 1, 2))


def test_channels_first_images_are_kept(tmp_path: Path) -> None:
    images = _pixels(4, (3, 8, 8))
    np.savez(tmp_path / "c.npz", images=images, factors=_grid((4,)))
    dataset = load_path(tmp_path / "c.npz")
    assert dataset.observation_shape == (3, 8, 8)
    np.testing.assert_array_equal(dataset.observations_at([2]), images[[2]] / np.float32(255))


def test_classes_from_labels_refuses_non_numbers() -> None:
    with pytest.raises(DataFileError, match="'labels' must hold numbers"):
        classes_from_labels(np.array([["a"], ["b"]]), "x.npz", "labels")
    with pytest.raises(DataFileError, match="NaN or infinite"):
        classes_from_labels(np.array([[np.nan]]), "x.npz", "labels")


def test_row_indices_are_checked(tmp_path: Path) -> None:
    np.savez(tmp_path / "g.npz", images=_pixels(4, (4, 4)), factors=_grid((4,)))
    dataset = load_path(tmp_path / "g.npz")
    with pytest.raises(ValueError, match=r"row indices out of range 0\.\.3: 4"):
        dataset.observations_at([4])
    with pytest.raises(ValueError, match="row indices must be integers"):
        dataset.factors_at([0.5])


def test_a_dataset_pickles_without_its_pixels(tmp_path: Path) -> None:
    images = _pixels(400, (32, 32, 3))
    np.savez(tmp_path / "g.npz", images=images, factors=_grid((20, 20)))
    dataset = load_path(tmp_path / "g.npz")
    dataset.observations_at([0])
    payload = pickle.dumps(dataset)
    assert len(payload) < 100_000  # the images are 1.2 MB
    copy = pickle.loads(payload)
    np.testing.assert_array_equal(copy.observations_at([5, 9]), dataset.observations_at([5, 9]))
    assert copy.fingerprint == dataset.fingerprint


def test_provenance_records_the_file_and_its_digest(tmp_path: Path) -> None:
    np.savez(tmp_path / "g.npz", images=_pixels(4, (4, 4)), factors=_grid((4,)))
    dataset = load_path(tmp_path / "g.npz")
    provenance = dataset.provenance()
    assert provenance["files"] == [paths.file_record(tmp_path / "g.npz")]
    assert provenance["factor_sizes"] == [4] and provenance["kind"] == "FileDataset"
    assert provenance["params"]["factors_key"] == "factors"
    np.savez(tmp_path / "h.npz", images=_pixels(4, (4, 4), seed=1), factors=_grid((4,)))
    assert load_path(tmp_path / "h.npz").fingerprint != dataset.fingerprint


# --- recognising layouts by content ----------------------------------------------------------


def test_layouts_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    with (tmp_path / "a.h5").open("wb") as stream:  # an npz, whatever its name says
        np.savez(
            stream,
            imgs=(_pixels(6, (64, 64)) > 127).astype(np.uint8),
            latents_classes=np.column_stack([np.zeros(6, int), _grid((1, 2, 3, 1, 1))]),
        )
    assert type(load_path(tmp_path / "a.h5")) is DSprites
    np.savez(tmp_path / "b.npz", images=_pixels(7, (64, 64, 3)))
    with pytest.raises(
        DataFileError, match=r"7 images is not a known grid; known counts: 1,036,800"
    ):
        load_path(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", images=_pixels(4, (8, 8)), labels=np.arange(4.0)[:, None])
    assert type(load_path(tmp_path / "c.npz")) is FileDataset


def test_an_npz_with_other_members_and_a_comment_still_maps(tmp_path: Path) -> None:
    data = _pixels(10, (4, 4))
    np.savez(tmp_path / "x.npz", images=data, factors=_grid((10,)))
    with zipfile.ZipFile(tmp_path / "x.npz", "a") as archive:
        archive.comment = b"written again"
        archive.writestr("notes.txt", "not an array")
    file = ArrayFile(tmp_path / "x.npz")
    assert file.keys() == ["images", "factors"]
    np.testing.assert_array_equal(file.open("images"), data)
    assert isinstance(load_path(tmp_path / "x.npz"), FileDataset)
