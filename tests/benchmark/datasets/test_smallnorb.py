"""SmallNORB: a complete set of tiny files in the NORB binary format, loaded for real."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from PIL import Image

from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError
from disbench.benchmark.datasets.smallnorb import FILE_NAMES, SmallNORB, read_norb_header

HEIGHT, WIDTH = 8, 10  # not square, to catch a transposed axis


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "cache"))
    for name in ("DISBENCH_DATA", "DISENTANGLEMENT_LIB_DATA"):
        monkeypatch.delenv(name, raising=False)


def write_norb(path, array):
    """A NORB binary matrix: magic, ndim, max(3, ndim) sizes (int32, little-endian), data."""
    magic = 0x1E3D4C55 if array.dtype == np.uint8 else 0x1E3D4C54
    sizes = list(array.shape) + [1] * (3 - array.ndim)
    header = np.array([magic, array.ndim, *sizes], dtype="<i4").tobytes()
    path.write_bytes(
        header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    )


def write_smallnorb(folder, seed=0):
    """All 48,600 (category, instance, elevation, azimuth, lighting) rows, shuffled, split by
    instance into training (4, 6, 7, 8, 9) and testing (0, 1, 2, 3, 5) as published.

    Returns ``{(category, instance, elevation, azimuth, lighting): left image}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    combos = np.array(list(itertools.product(range(5), range(10), range(9), range(18), range(6))))
    images = {}
    for chunk, instances in ((0, (4, 6, 7, 8, 9)), (1, (0, 1, 2, 3, 5))):
        rows = combos[np.isin(combos[:, 1], instances)]
        rows = rows[rng.permutation(len(rows))]
        dat = rng.integers(0, 256, size=(len(rows), 2, HEIGHT, WIDTH), dtype=np.uint8)
        info = np.column_stack([rows[:, 1], rows[:, 2], 2 * rows[:, 3], rows[:, 4]]).astype(
            np.int32
        )
        names = FILE_NAMES[3 * chunk : 3 * chunk + 3]
        write_norb(folder / names[0], dat)
        write_norb(folder / names[1], rows[:, 0].astype(np.int32))
        write_norb(folder / names[2], info)
        images.update({tuple(row): dat[k, 0] for k, row in enumerate(rows.tolist())})
    return images


def expected_image(image):
    """disentanglement_lib's resize (Lanczos on the 32-bit integer image), clipped, / 255."""
    resized = np.asarray(Image.fromarray(image.astype(np.int32)).resize((64, 64), Image.LANCZOS))
    return (np.clip(resized, 0, 255) / 255.0).astype(np.float32)


@pytest.fixture
def norb(tmp_path):
    images = write_smallnorb(tmp_path / "small_norb")
    return SmallNORB.from_folder(data_dir=tmp_path), images


def test_rows_factors_and_pixels_match_the_files(norb):
    dataset, images = norb
    assert len(dataset) == 48600 and dataset.factor_sizes == (5, 9, 18, 6) and not dataset.is_grid
    rows = np.array([48599, 0, 12345, 0, 777, 30000])
    factors, instances = dataset.factors_at(rows), dataset.instance_at(rows)
    np.testing.assert_array_equal(factors[:2], [[4, 8, 17, 5], [0, 0, 0, 0]])
    np.testing.assert_array_equal(instances[:2], [9, 0])
    observed = dataset.observations_at(rows)
    assert observed.dtype == np.float32 and observed.shape == (6, 1, 64, 64)
    for image, (c, e, a, light), instance in zip(observed, factors, instances, strict=True):
        np.testing.assert_array_equal(image[0], expected_image(images[(c, instance, e, a, light)]))
    # Random noise overshoots under Lanczos: the clip keeps [0, 1], and is needed.
    assert observed.min() == 0.0 and observed.max() == 1.0


def test_instance_is_a_nuisance_drawn_after_the_factors(norb):
    dataset, images = norb
    rows = dataset.sample_indices(2000, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    factors = rng.integers(0, [5, 9, 18, 6], size=(2000, 4))
    instances = rng.integers(0, 10, size=2000)
    np.testing.assert_array_equal(dataset.factors_at(rows), factors)
    np.testing.assert_array_equal(dataset.instance_at(rows), instances)
    assert set(instances.tolist()) == set(range(10))
    # observations(factors) shows instance 0, the first stored row of each combination.
    chosen = factors[:3]
    np.testing.assert_array_equal(dataset.instance_at(dataset.index(chosen)), [0, 0, 0])
    for image, (c, e, a, light) in zip(dataset.observations(chosen), chosen, strict=True):
        np.testing.assert_array_equal(image[0], expected_image(images[(c, 0, e, a, light)]))


def test_images_are_read_from_the_file_when_asked(tmp_path):
    write_smallnorb(tmp_path / "small_norb")
    dataset = SmallNORB(tmp_path / "small_norb")
    dat = tmp_path / "small_norb" / FILE_NAMES[0]
    _, shape, offset = read_norb_header(dat)
    assert shape == (24300, 2, HEIGHT, WIDTH) and offset == 24
    some = np.arange(0, 48600, 97)
    before = dataset.observations_at(some)
    # Paint file row 0's left image white after reading: the memory map sees it.
    with dat.open("r+b") as stream:
        stream.seek(offset)
        stream.write(b"\xff" * HEIGHT * WIDTH)
    # File row 0's labels follow the 20-byte headers of the category and info files.
    category = np.fromfile(tmp_path / "small_norb" / FILE_NAMES[1], dtype="<i4", count=6)[5]
    info = np.fromfile(tmp_path / "small_norb" / FILE_NAMES[2], dtype="<i4", count=9)
    instance, elevation, azimuth, lighting = info[5:9]
    row = dataset.index([[category, elevation, azimuth // 2, lighting]])[0] + instance
    np.testing.assert_array_equal(
        dataset.observations_at([row]), np.ones((1, 1, 64, 64), np.float32)
    )
    # A pickled copy (for worker processes) maps the files again instead of copying pixels.
    copy = pickle.loads(pickle.dumps(dataset))
    assert len(pickle.dumps(dataset)) < 1_000_000
    np.testing.assert_array_equal(copy.observations_at([row]), dataset.observations_at([row]))
    unchanged = some != row
    np.testing.assert_array_equal(copy.observations_at(some[unchanged]), before[unchanged])


def test_published_metadata_matches_the_header_layout():
    published = SmallNORB.published
    assert len(published) == 6
    dat = published["small_norb/smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat"]
    assert dat["bytes"] == 447_897_624
    assert dat["sha256"].startswith("4813bf104d22")
    assert dat["url"] == (
        "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
        "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat.gz"
    )
    cat = published["small_norb/smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat"]
    assert cat["bytes"] == 97_220 and cat["sha256"].startswith("591ed90c090c")
    info = published["small_norb/smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat"]
    assert info["bytes"] == 388_820 and info["sha256"].startswith("318f817236b7")


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    folder = tmp_path / "small_norb"
    write_smallnorb(folder)
    dat, cat, info = (folder / name for name in FILE_NAMES[:3])
    original = dat.read_bytes()

    dat.write_bytes(original[:6])
    with pytest.raises(
        DataFileError, match=rf"{dat.name}: truncated: 6 bytes, shorter than a NORB"
    ):
        SmallNORB(folder)
    dat.write_bytes(original[:16])
    with pytest.raises(DataFileError, match="shorter than its 24-byte header"):
        SmallNORB(folder)
    dat.write_bytes(original[:-5])
    with pytest.raises(DataFileError, match=rf"{dat.name}: truncated: 3,888,019 bytes"):
        SmallNORB(folder)
    dat.write_bytes(b"\x12\x34\x56\x78" + original[4:])
    with pytest.raises(DataFileError, match="magic number 0x78563412 is not a NORB binary matrix"):
        SmallNORB(folder)
    dat.write_bytes(b"\x1f\x8b\x08\x00" + original[4:])
    with pytest.raises(DataFileError, match="gunzip it first"):
        SmallNORB(folder)
    write_norb(dat, np.zeros((24300, 8, 10), np.uint8))
    with pytest.raises(DataFileError, match=r"expected uint8 \(N, 2, H, W\) stereo pairs"):
        SmallNORB(folder)
    dat.write_bytes(original)

    good_info = info.read_bytes()
    values = np.frombuffer(good_info, dtype="<i4", offset=20).reshape(-1, 4).copy()
    values[0, 2] += 1  # an odd azimuth
    write_norb(info, values)
    with pytest.raises(
        DataFileError, match=rf"{info.name}: values out of range in column\(s\) azimuth"
    ):
        SmallNORB(folder)
    values[0, 2] -= 1
    values[0, 3] = (values[0, 3] + 1) % 6  # now a combination is repeated and another missing
    write_norb(info, values)
    with pytest.raises(DataFileError, match=r"48,600 .* \(1 missing, 1 repeated\)"):
        SmallNORB(folder)
    info.write_bytes(good_info)

    write_norb(cat, np.zeros(5, np.int32))
    with pytest.raises(DataFileError, match=rf"{cat.name}: holds a int32 matrix of shape \(5,\)"):
        SmallNORB(folder)
    cat.unlink()
    with pytest.raises(DataFileNotFoundError, match=cat.name) as error:
        SmallNORB(folder)
    assert "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/" in str(error.value)
    with pytest.raises(
        DataFileNotFoundError, match="small_norb/smallnorb-5x46789x9x18x6x2x96x96-training-dat"
    ):
        SmallNORB.from_folder(data_dir=tmp_path / "elsewhere")
