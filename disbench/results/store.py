"""The store: a folder of result records, one JSON file per record key.

Writes are atomic — the record goes to a temporary file in the same folder, is flushed to
disk and moved into place with ``os.replace`` — so an interrupted run or a full disk leaves
no half record, and many workers (also on a network file system) can share one store.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from disbench.results.record import SCHEMA_VERSION

#: The store ``disbench evaluate`` and ``disbench compare`` use unless told otherwise.
DEFAULT_STORE = "disbench-results"


class StoreError(OSError):
    """A record could not be written to or read from the store."""


def default_store() -> Path:
    """``$DISBENCH_STORE``, else ``./disbench-results``."""
    return Path(os.environ.get("DISBENCH_STORE") or DEFAULT_STORE)


class Store:
    """A folder of result records named ``<key>.json``.

    Parameters
    ----------
    root : path
        The folder; created on the first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} is a file; give a folder")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def read(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or None when there is none."""
        path = self.path(key)
        if not path.is_file():
            return None
        return self.load_file(path)

    def has_ok(self, key: str) -> bool:
        """Whether a successful record is stored under ``key`` (errors are re-run)."""
        record = self.read(key)
        return record is not None and record.get("status") == "ok"

    def write(self, record: dict[str, Any]) -> Path:
        """Write ``record`` atomically under its ``key``; returns the file's path."""
        path = self.path(record["key"])
        text = json.dumps(record, indent=1, allow_nan=False)
        # Unique per writer, also across machines sharing the folder; the leading dot keeps
        # it out of ``records()``.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise StoreError(
                f"could not write the record {path.name} to the store {self.root}: {error}"
            ) from error
        return path

    def paths(self) -> list[Path]:
        """The record files in the store, in file-name order (temporary files excluded)."""
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob("*.json"), key=lambda path: path.name)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in the store, in file-name order; ``StoreError`` on a bad file."""
        for path in self.paths():
            yield self.load_file(path)

    @staticmethod
    def load_file(path: Path) -> dict[str, Any]:
        """The record in ``path``; ``StoreError`` naming the file and the reason otherwise."""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise StoreError(f"{path.name}: unreadable: {error}") from error
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            raise StoreError(f"{path.name}: not a disbench result record")
        if not isinstance(record.get("schema_version"), int):
            raise StoreError(f"{path.name}: not a disbench result record (no schema version)")
        if record["schema_version"] > SCHEMA_VERSION:
            raise StoreError(
                f"{path.name}: schema version {record['schema_version']}; this disbench reads "
                f"up to {SCHEMA_VERSION} — upgrade disbench"
            )
        return record
