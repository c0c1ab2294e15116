"""Data folders, the missing-file message, the cache folder and the cached file digests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from disbench.benchmark.datasets import paths
from disbench.benchmark.datasets.paths import (
    DataFileNotFoundError,
    atomic_write_bytes,
    cache_dir,
    data_dirs,
    file_record,
    file_sha256,
    resolve_data_file,
)

RELATIVE = "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
URL = "https://example.org/dsprites.npz"


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*paths.DATA_ENV_VARS, paths.CACHE_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "cache"))


def _place(folder: Path, relative: str = RELATIVE, content: bytes = b"x") -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_folders_are_searched_data_dir_then_disbench_then_dlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given, ours, dlib = tmp_path / "given", tmp_path / "ours", tmp_path / "dlib"
    monkeypatch.setenv("DISBENCH_DATA", str(ours))
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(dlib))
    assert data_dirs(given) == [given, ours, dlib]
    assert data_dirs() == [ours, dlib]

    in_dlib = _place(dlib)
    assert resolve_data_file(RELATIVE, data_dir=given) == in_dlib
    in_ours = _place(ours)
    assert resolve_data_file(RELATIVE, data_dir=given) == in_ours
    in_given = _place(given)
    assert resolve_data_file(RELATIVE, data_dir=given) == in_given
    assert resolve_data_file(RELATIVE) == in_ours


def test_unset_empty_and_repeated_folders_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISBENCH_DATA", "")
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
    assert data_dirs(tmp_path) == [tmp_path]
    assert data_dirs() == [tmp_path]


def test_a_folder_resolves_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "cars").mkdir()
    assert resolve_data_file("cars", data_dir=tmp_path) == tmp_path / "cars"


def test_missing_file_names_the_file_every_folder_and_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "ours"))
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "dlib"))
    with pytest.raises(DataFileNotFoundError) as caught:
        resolve_data_file(RELATIVE, data_dir=tmp_path / "given", published_at=URL)
    message = str(caught.value)
    assert RELATIVE in message
    for folder in ("given", "ours", "dlib"):
        assert str(tmp_path / folder) in message
    assert URL in message
    assert "download it by hand" in message
    assert "disbench datasets download" not in message
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.searched == [tmp_path / "given", tmp_path / "ours", tmp_path / "dlib"]
    assert caught.value.published_at == URL


def test_missing_file_without_any_folder_says_how_to_set_one() -> None:
    with pytest.raises(DataFileNotFoundError, match=r"--data-dir .*\$DISBENCH_DATA"):
        resolve_data_file(RELATIVE, published_at=URL)


def test_cache_dir_follows_the_environment_and_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISBENCH_CACHE", str(tmp_path / "a" / "b"))
    assert cache_dir() == tmp_path / "a" / "b"
    assert cache_dir().is_dir()
    monkeypatch.delenv("DISBENCH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "disbench"


def test_file_sha256_matches_hashlib_over_several_blocks(tmp_path: Path) -> None:
    content = os.urandom(3 * (1 << 20) + 17)
    path = _place(tmp_path, "big.bin", content)
    assert file_sha256(path) == hashlib.sha256(content).hexdigest()
    assert file_record(path) == {
        "path": str(path.resolve()),
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
    }


def test_file_sha256_is_cached_by_path_size_and_mtime(tmp_path: Path) -> None:
    path = _place(tmp_path, "data.bin", b"abc")
    digest = file_sha256(path)
    cache_file = cache_dir() / "sha256.json"
    cache = json.loads(cache_file.read_text())
    status = path.stat()
    assert cache[str(path.resolve())] == {
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
        "sha256": digest,
    }
    # The remembered digest is returned without reading the file: plant another one.
    cache[str(path.resolve())]["sha256"] = "0" * 64
    cache_file.write_text(json.dumps(cache))
    assert file_sha256(path) == "0" * 64
    # A new modification time hashes the file again.
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    assert file_sha256(path) == digest
    # Same mtime but another size: hashed again.
    path.write_bytes(b"abcd")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    assert file_sha256(path) == hashlib.sha256(b"abcd").hexdigest()


def test_file_sha256_drops_entries_of_deleted_files(tmp_path: Path) -> None:
    gone = _place(tmp_path, "gone.bin", b"1")
    kept = _place(tmp_path, "kept.bin", b"2")
    file_sha256(gone)
    gone.unlink()
    file_sha256(kept)
    cache = json.loads((cache_dir() / "sha256.json").read_text())
    assert list(cache) == [str(kept.resolve())]


def test_file_sha256_works_when_the_cache_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("DISBENCH_CACHE", str(blocker / "cache"))
    path = _place(tmp_path, "data.bin", b"abc")
    assert file_sha256(path) == hashlib.sha256(b"abc").hexdigest()


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]
