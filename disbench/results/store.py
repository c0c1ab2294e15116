"""The store: a folder of result records, one JSON file per record key.

Writes are atomic — the record goes to a temporary file in the same folder, is flushed to
disk and moved into place with ``os.replace`` — so an interrupted run or a full disk leaves
no half record, and many workers (also on a network file system) can share one store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from disbench.results.record import SCHEMA_VERSION


class StoreError(OSError):
    """A record could not be written to or read from the store."""


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
        return self._load(path)

    def has_ok(self, key: str) -> bool:
        """Whether a successful record is stored under ``key`` (errors are re-run)."""
        record = self.read(key)
        return record is not None and record.get("status") == "ok"

    def write(self, record: dict[str, Any]) -> Path:
        """Write ``record`` atomically under its ``key``; returns the file's path."""
        path = self.path(record["key"])
        text = json.dumps(record, indent=1, allow_nan=False)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in the store, in file-name order."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*.json")):
            yield self._load(path)

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise StoreError(f"the record {path} is unreadable: {error}") from error
        if not isinstance(record, dict) or "key" not in record:
            raise StoreError(f"{path} is not a disbench result record")
        if record.get("schema_version", 0) > SCHEMA_VERSION:
            raise StoreError(
                f"the record {path} has schema version {record.get('schema_version')!r}; this "
                f"disbench reads up to {SCHEMA_VERSION} — upgrade disbench"
            )
        return record
