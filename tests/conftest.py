"""Shared fixtures: the real data in ../shared/data, seeded generators."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(
    os.environ.get("DISBENCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@dataclass(frozen=True)
class Shapes3DCodes:
    """Real codes of a 10-dimensional VAE trained on 3D Shapes, with their factor classes."""

    mean: np.ndarray  # (15008, 10) float32 encoder means
    sampled: np.ndarray  # (15008, 10) float32 samples
    factors: (
        np.ndarray
    )  # (15008, 6) int64: floor_hue, wall_hue, object_hue, scale, shape, orientation


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real test data beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set DISBENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test writes disbench's cache (hashes, grid codes) and default result store to
    temporary folders."""
    folder = tmp_path_factory.mktemp("disbench-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("DISBENCH_CACHE", str(folder))
    patch.setenv("DISBENCH_STORE", str(tmp_path_factory.mktemp("disbench-results")))
    yield folder
    patch.undo()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def shapes3d_codes(shared_data: Path) -> Shapes3DCodes:
    """``shared/data/shapes3d_codes``, read once per test session; the arrays are read-only."""
    folder = shared_data / "shapes3d_codes"
    with np.load(folder / "representations.npz", allow_pickle=False) as representations:
        mean, sampled = representations["mean"], representations["sampled"]
    # classes.csv writes the classes as floats ("9.0").
    factors = np.loadtxt(folder / "classes.csv", delimiter=",", skiprows=1).astype(np.int64)
    for array in (mean, sampled, factors):
        array.flags.writeable = False
    return Shapes3DCodes(mean, sampled, factors)
