"""MPI3D: grid sizes from the row count, a full-size npz of the published layout."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from disbench.benchmark.datasets import paths
from disbench.benchmark.datasets.files import load_path
from disbench.benchmark.datasets.mpi3d import (
    FACTOR_NAMES,
    MPI3D,
    PUBLISHED_AT,
    RELATIVE_PATHS,
    factor_sizes_for_rows,
)
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError

ROWS = 460_800
SIZES = (4, 4, 2, 3, 3, 40, 40)
_BLOCK = 1 << 24


@pytest.fixture(scope="module", autouse=True)
def _environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(paths.CACHE_ENV_VAR, str(tmp_path_factory.mktemp("cache")))
        for name in paths.DATA_ENV_VARS:
            patch.delenv(name, raising=False)
        yield


class _SparseWriter:
    """A file object that turns writes of zero blocks into seeks, leaving holes."""

    def __init__(self, stream):
        self.stream = stream
        self.zero = bytes(_BLOCK)

    def write(self, data) -> int:
        if len(data) == _BLOCK and data == self.zero:
            self.stream.seek(_BLOCK, os.SEEK_CUR)
        else:
            self.stream.write(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _sparse_files_supported(folder: Path) -> bool:
    probe = folder / "probe"
    with probe.open("wb") as stream:
        stream.seek(64 * 2**20)
        stream.write(b"x")
    supported = probe.stat().st_blocks * 512 < 2**20
    probe.unlink()
    return supported


def _write_mpi3d(path: Path, rows: dict[int, np.ndarray]) -> None:
    """``np.savez`` layout (a stored zip64 member ``images.npy``) of ``ROWS`` images, all
    zero except ``rows``; zero blocks become holes, so the 5.7 GB file takes little disk."""
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
        "fortran_order": False,
        "shape": (ROWS, 64, 64, 3),
    }
    row_bytes = 64 * 64 * 3
    with path.open("wb") as raw, zipfile.ZipFile(_SparseWriter(raw), "w") as archive:
        with archive.open("images.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
            position = 0
            for row in sorted(rows):
                start = row * row_bytes
                while start - position >= _BLOCK:
                    member.write(bytes(_BLOCK))  # the same zero block: written as a hole
                    position += _BLOCK
                member.write(bytes(start - position) + rows[row].tobytes())
                position = start + row_bytes
            end = ROWS * row_bytes
            while end - position >= _BLOCK:
                member.write(bytes(_BLOCK))
                position += _BLOCK
            member.write(bytes(end - position))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, np.ndarray]]:
    folder = tmp_path_factory.mktemp("mpi3d")
    if not _sparse_files_supported(folder):
        pytest.skip("the temporary folder does not support sparse files")
    rng = np.random.default_rng(0)
    rows = {
        row: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for row in (3, 200_001, ROWS - 1)
    }
    path = folder / "mpi3d_toy" / "mpi3d_toy.npz"
    path.parent.mkdir()
    _write_mpi3d(path, rows)
    return path, rows


def test_sizes_follow_the_row_count() -> None:
    assert factor_sizes_for_rows(1_036_800) == (6, 6, 2, 3, 3, 40, 40)
    assert factor_sizes_for_rows(460_800) == SIZES
    assert np.prod(factor_sizes_for_rows(1_036_800)) == 1_036_800
    with pytest.raises(ValueError, match=r"1,000 images .* 1,036,800 = \[6, 6, 2, 3, 3, 40, 40\]"):
        factor_sizes_for_rows(1000)


def test_a_full_size_npz_loads_as_the_grid_memory_mapped(
    full: tuple[Path, dict[int, np.ndarray]],
) -> None:
    path, rows = full
    assert path.stat().st_size > ROWS * 64 * 64 * 3
    dataset = load_path(path)
    assert type(dataset) is MPI3D and dataset.name == "mpi3d_toy"
    assert dataset.is_grid and len(dataset) == ROWS
    assert dataset.factor_sizes == SIZES and dataset.factor_names == FACTOR_NAMES
    assert isinstance(dataset._images(), np.memmap)
    indices = np.array([ROWS - 1, 3, 200_001, 3])
    factors = dataset.factors_at(indices)
    np.testing.assert_array_equal(factors, np.stack(np.unravel_index(indices, SIZES), axis=1))
    np.testing.assert_array_equal(dataset.index(factors), indices)
    expected = np.stack([rows[i] for i in indices]).transpose(0, 3, 1, 2) / np.float32(255)
    np.testing.assert_array_equal(dataset.observations(factors), expected.astype(np.float32))
    np.testing.assert_array_equal(dataset.observations_at([4]), np.zeros((1, 3, 64, 64)))


def test_from_data_dir_finds_each_variant(
    full: tuple[Path, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = full
    monkeypatch.setenv("DISBENCH_DATA", str(path.parent.parent))
    assert MPI3D.from_data_dir("mpi3d_toy").path == path.resolve()
    with pytest.raises(DataFileNotFoundError) as caught:
        MPI3D.from_data_dir("mpi3d_real")
    message = str(caught.value)
    assert RELATIVE_PATHS["mpi3d_real"] in message and PUBLISHED_AT["mpi3d_real"] in message
    with pytest.raises(ValueError, match="unknown MPI3D variant 'mpi3d_fake'"):
        MPI3D.from_data_dir("mpi3d_fake")


def test_bad_mpi3d_files_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "mpi3d_real.npz", images=np.zeros((10, 64, 64, 3), np.uint8))
    with pytest.raises(DataFileError, match=r"mpi3d_real\.npz: an MPI3D file of 10 images"):
        MPI3D.from_file(tmp_path / "mpi3d_real.npz")
    np.savez(tmp_path / "gray.npz", images=np.zeros((10, 64, 64), np.uint8))
    with pytest.raises(DataFileError, match=r"'images' must be \(N, 64, 64, 3\) uint8"):
        MPI3D.from_file(tmp_path / "gray.npz")
    np.savez(tmp_path / "none.npz", imgs=np.zeros((10, 64, 64), np.uint8))
    with pytest.raises(DataFileError, match=r"has no 'images' \(MPI3D layout\)"):
        MPI3D.from_file(tmp_path / "none.npz")
