"""The data set registry: names, listing, loading by name or path, and errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from disbench.benchmark import datasets
from disbench.benchmark.datasets import (
    DatasetInfo,
    FiniteDataset,
    GroundTruthDataset,
    list_datasets,
    load_dataset,
    paths,
)
from disbench.benchmark.datasets.dsprites import DSprites
from disbench.benchmark.datasets.files import FileDataset
from disbench.benchmark.datasets.paths import DataFileNotFoundError
from disbench.benchmark.datasets.registry import dataset_names

NAMES = [
    "dsprites",
    "shapes3d",
    "mpi3d_toy",
    "mpi3d_realistic",
    "mpi3d_real",
    "cars3d",
    "smallnorb",
    "threedots",
    "toy",
]
DSPRITES = "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


@pytest.fixture(scope="module", autouse=True)
def _environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(paths.CACHE_ENV_VAR, str(tmp_path_factory.mktemp("cache")))
        for name in paths.DATA_ENV_VARS:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture
def data_dir(tmp_path: Path, shared_data: Path) -> Path:
    """A data folder holding the shared dSprites grid at the official relative path."""
    target = tmp_path / "data" / DSPRITES
    target.parent.mkdir(parents=True)
    target.symlink_to(shared_data / "dsprites" / "dsprites_grid_3x6x10x16x16.npz")
    return tmp_path / "data"


def test_every_data_set_is_registered() -> None:
    assert dataset_names() == NAMES
    assert [info.name for info in list_datasets()] == NAMES
    assert datasets.__all__ == [
        "DataFileError",
        "DataFileNotFoundError",
        "DatasetInfo",
        "FiniteDataset",
        "GroundTruthDataset",
        "list_datasets",
        "load_dataset",
    ]


def test_file_backed_sets_list_their_published_factors_and_files(tmp_path: Path) -> None:
    infos = {info.name: info for info in list_datasets(data_dir=tmp_path)}
    assert infos["dsprites"].factor_sizes == (3, 6, 40, 32, 32)
    assert infos["shapes3d"].factor_names == (
        "floor_hue",
        "wall_hue",
        "object_hue",
        "scale",
        "shape",
        "orientation",
    )
    assert infos["shapes3d"].files == ("3dshapes/3dshapes.h5",)
    assert infos["mpi3d_real"].factor_sizes == (6, 6, 2, 3, 3, 40, 40)
    assert infos["mpi3d_real"].files == ("mpi3d_real/mpi3d_real.npz",)
    assert infos["cars3d"].files == ("cars",) and infos["cars3d"].factor_sizes == (4, 24, 183)
    assert len(infos["smallnorb"].files) == 6
    for name in ("dsprites", "shapes3d", "mpi3d_toy", "cars3d", "smallnorb"):
        info = infos[name]
        assert not info.present and info.location is None
        assert info.published_at.startswith("http")
        assert info.status.startswith("missing (") and info.published_at in info.status


def test_presence_is_found_in_the_data_folders(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "cars").mkdir()
    npz = (
        data_dir
        / "3dshapes"
        / ("look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-shapeXview-azi.npz")
    )
    npz.parent.mkdir()
    npz.touch()
    infos = {info.name: info for info in list_datasets(data_dir=data_dir)}
    for name in ("dsprites", "cars3d", "shapes3d"):  # shapes3d: dlib's npz will do
        assert infos[name].present and infos[name].location == data_dir
        assert infos[name].status == f"present in {data_dir}"
    assert not infos["mpi3d_toy"].present
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(data_dir))
    assert {info.name: info for info in list_datasets()}["dsprites"].present


def test_procedural_sets_list_the_factors_of_their_defaults() -> None:
    infos = {info.name: info for info in list_datasets()}
    assert infos["threedots"].factor_sizes == (64,) * 6
    assert infos["threedots"].files == () and infos["threedots"].present
    assert infos["threedots"].status == "procedural (no files)"
    toy = load_dataset("toy")
    assert infos["toy"].factor_sizes == tuple(toy.factor_sizes)
    assert infos["toy"].factor_names == tuple(toy.factor_names)
    assert isinstance(infos["toy"], DatasetInfo)


def test_load_by_name_searches_the_data_folders(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = load_dataset("dsprites", data_dir=data_dir)
    assert type(dataset) is DSprites and isinstance(dataset, FiniteDataset)
    assert dataset.factor_sizes == (3, 6, 10, 16, 16) and len(dataset) == 46_080
    monkeypatch.setenv("DISBENCH_DATA", str(data_dir))
    assert load_dataset("dsprites").path == dataset.path


def test_load_by_name_reports_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError) as caught:
        load_dataset("mpi3d_realistic", data_dir=tmp_path)
    message = str(caught.value)
    assert "mpi3d_realistic/mpi3d_realistic.npz" in message and str(tmp_path) in message
    assert "sim_realistic_64x_ordered_without_heldout_factors.npz" in message


def test_load_by_path_recognises_the_content(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "mine.npz", images=images, factors=np.arange(6)[:, None] % 3)
    dataset = load_dataset(tmp_path / "mine.npz", factor_names=["digit"])
    assert type(dataset) is FileDataset and dataset.factor_names == ("digit",)
    assert load_dataset(str(tmp_path / "mine.npz")).name == "mine"


def test_procedural_sets_take_options_and_refuse_unknown_ones() -> None:
    assert isinstance(load_dataset("threedots"), GroundTruthDataset)
    toy = load_dataset("toy", factor_sizes=(2, 3), seed=1, data_dir="/ignored")
    assert toy.factor_sizes == (2, 3) and toy.params()["seed"] == 1
    with pytest.raises(ValueError, match=r"dsprites does not take the options colour"):
        load_dataset("dsprites", colour=1)


def test_unknown_names_list_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown data set 'dsprite'.*dsprites, shapes3d, "):
        load_dataset("dsprite")
    with pytest.raises(ValueError, match="not a registered name and no such file"):
        load_dataset(tmp_path / "absent.npz")
