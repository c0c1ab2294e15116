"""Precomputed codes in ``.npz`` files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from disbench.adapters import EncoderError, PrecomputedCodes, load_codes, load_encoder


@pytest.fixture
def codes_file(tmp_path, rng):
    path = tmp_path / "betavae.npz"
    np.savez(
        path,
        codes=rng.normal(size=(50, 4)).astype(np.float32),
        factors=rng.integers(0, 5, size=(50, 2)).astype(np.int32),
        factor_names=np.array(["shape", "scale"]),
    )
    return path


def test_codes_round_trip(codes_file):
    with np.load(codes_file) as stored:
        codes, factors = stored["codes"], stored["factors"]
    for loaded in (load_codes(codes_file), load_encoder(str(codes_file))):
        assert isinstance(loaded, PrecomputedCodes)
        np.testing.assert_array_equal(loaded.codes, codes)
        np.testing.assert_array_equal(loaded.factors, factors)
        assert loaded.codes.dtype == np.float32 and loaded.factors.dtype == np.int64
        assert not loaded.codes.flags.writeable and not loaded.factors.flags.writeable
        assert loaded.factor_names == ("shape", "scale") and len(loaded) == 50
        assert loaded.name == "betavae"
        assert loaded.sha256 == hashlib.sha256(codes_file.read_bytes()).hexdigest()
        provenance = json.loads(json.dumps(loaded.provenance()))
        assert provenance["adapter"] == "npz" and provenance["sha256"] == loaded.sha256


def test_one_dimensional_and_float_arrays(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, codes=np.arange(5), factors=np.linspace(0, 1, 5))
    loaded = load_codes(path)
    assert loaded.codes.shape == (5, 1) and loaded.codes.dtype == np.float64
    assert loaded.factors.shape == (5, 1) and loaded.factors.dtype == np.float64
    assert loaded.factor_names is None


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"codes": np.zeros((3, 2))}, r"has no 'factors' array \(it has \['codes'\]\)"),
        (
            {"codes": np.zeros((3, 2)), "factors": np.zeros((4, 1), int)},
            r"codes and factors must have one row per sample; got 3 and 4 rows",
        ),
        (
            {"codes": np.zeros((3, 2, 2)), "factors": np.zeros(3, int)},
            r"codes must be 2-D, \(n_samples, n_columns\); got shape \(3, 2, 2\)",
        ),
        (
            {"codes": np.array(["a", "b"]), "factors": np.zeros(2, int)},
            r"codes must hold real numbers; got an array of dtype <U1",
        ),
        (
            {"codes": np.zeros((2, 1)), "factors": np.zeros((2, 2), int), "factor_names": ["a"]},
            r"factor_names must be 2 strings, one per factor column; got an array of shape \(1,\)",
        ),
        (
            {"codes": np.zeros((2, 1)), "factors": np.array([{}, {}], dtype=object)},
            r"holds pickled objects \(Object arrays cannot be loaded when allow_pickle=False\)",
        ),
    ],
)
def test_bad_codes_files_are_named(arrays, message, tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(EncoderError, match=rf"{path}.*{message}"):
        load_codes(path)


def test_unreadable_codes_files(codes_file, tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(codes_file.read_bytes()[:300])
    with pytest.raises(
        EncoderError,
        match=rf"could not read {cut} as an npz of precomputed codes; "
        r"the file is truncated or corrupt, or another format",
    ):
        load_codes(cut)
    single = tmp_path / "single.npz"
    with open(single, "wb") as stream:
        np.save(stream, np.zeros(3))
    with pytest.raises(EncoderError, match=r"single.npz is a single .npy array; precomputed codes"):
        load_codes(single)
    with pytest.raises(FileNotFoundError, match=r"codes file '.*none.npz' does not exist"):
        load_codes(tmp_path / "none.npz")


def test_model_options_do_not_apply_to_codes(codes_file):
    with pytest.raises(ValueError, match=r"holds precomputed codes: input_layout, input_range"):
        load_encoder(codes_file, input_range=(0, 255))
    with pytest.raises(ValueError, match=r"weights apply to 'module:Class' or 'module:function'"):
        load_encoder(codes_file, weights="w.pt")


def test_the_sample_is_named_by_its_dataset_member_or_its_factor_rows(codes_file, tmp_path):
    with np.load(codes_file) as stored:
        arrays = dict(stored)
    other = tmp_path / "factorvae.npz"
    np.savez(other, **{**arrays, "codes": arrays["codes"][:, ::-1]})
    first, second = load_codes(codes_file), load_codes(other)
    assert first.dataset is None
    assert first.factors_sha256 == second.factors_sha256 != first.sha256
    named = tmp_path / "named.npz"
    np.savez(named, **arrays, dataset="shapes3d_sample")
    assert load_codes(named).dataset == "shapes3d_sample"
    np.savez(named, **arrays, dataset=np.array(["a", "b"]))
    with pytest.raises(EncoderError, match="dataset must be one non-empty string"):
        load_codes(named)
