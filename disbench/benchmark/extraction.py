"""Extraction: factor rows in, codes out, in batches sized for the device by measurement.

The expensive stage of the data path. Observations are rendered (or read) on a background
thread while the encoder runs on the previous batch, copied to the device from pinned
memory without blocking when the device is a GPU, and encoded under
``torch.inference_mode``. The batch size is not assumed but measured: a small conv encoder on
a 2-core CPU is several times faster at 64 than at 4,096, a GPU wants thousands, so a short
timing probe picks it unless the caller gives one.

A finite grid can be encoded whole, once, into an on-disk cache keyed by the model's
SHA-256, the adapter options and the data set's fingerprint; every later plan on that grid
is an index lookup (see ``GridCodeCache``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from disbench.adapters import Encoder, EncoderError
from disbench.benchmark.datasets import FiniteDataset, GroundTruthDataset
from disbench.benchmark.datasets.paths import cache_dir

#: Batch sizes the probe tries, smallest first.
PROBE_BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
#: Grids with at most this many rows are encoded whole and cached (MPI3D has 1,036,800).
MAX_CACHED_ROWS = 1_500_000
#: Rows per chunk when a grid's cached codes are checked: bounds host memory per chunk.
GRID_CHUNK_ROWS = 1 << 16
#: Rendering in a background thread pays when a batch takes longer than this fraction of
#: the time to encode it; below it, a second thread only takes cores from torch.
OVERLAP_RATIO = 0.1
#: Rows per ``render`` call (a whole number of batches): one read serves several batches.
READ_ROWS = 1024
#: On CUDA, codes are copied to the host once this many rows wait on the device.
FLUSH_ROWS = 1 << 16

Render = Callable[[int, int], np.ndarray]

#: Probe results per encoder (dropped with it), then per (device, observation shape).
_probed: weakref.WeakKeyDictionary[Encoder, dict[tuple[Any, ...], int]] = (
    weakref.WeakKeyDictionary()
)


class ExtractionError(ValueError):
    """Extraction failed: the encoder returned non-finite codes, or the inputs are unusable."""


def probe_batch_size(
    encoder: Encoder,
    observation_shape: tuple[int, ...],
    *,
    max_batch_size: int = PROBE_BATCH_SIZES[-1],
    min_seconds: float = 0.05,
) -> int:
    """The batch size at which ``encoder`` encodes the most images per second, measured.

    Tries the sizes of ``PROBE_BATCH_SIZES`` up to ``max_batch_size``, each on random
    observations on the encoder's device: one warm-up call, then calls until
    ``min_seconds`` have passed. It stops at the first size slower than 0.8 of the best so
    far (past the peak) or that runs out of device memory. The uncapped answer is
    remembered per encoder, device and observation shape, and capped at
    ``max_batch_size`` on return, so a small first plan does not fix a small batch for
    later, larger ones.

    Returns
    -------
    int
        The fastest batch size found.
    """
    known = _probed.setdefault(encoder, {})
    key = (str(encoder.device), tuple(observation_shape))
    if key not in known:
        known[key] = _probe(encoder, observation_shape, min_seconds)
    return min(known[key], max(max_batch_size, PROBE_BATCH_SIZES[0]))


def _probe(encoder: Encoder, observation_shape: tuple[int, ...], min_seconds: float) -> int:
    generator = torch.Generator().manual_seed(0)
    best_size, best_rate = PROBE_BATCH_SIZES[0], 0.0
    for size in PROBE_BATCH_SIZES:
        batch = torch.rand((size, *observation_shape), generator=generator).to(encoder.device)
        try:
            rate = _images_per_second(encoder, batch, min_seconds)
        except EncoderError as error:  # the adapters wrap what the model raised
            if not isinstance(error.__cause__, torch.cuda.OutOfMemoryError):
                raise
            torch.cuda.empty_cache()
            break
        if rate > best_rate:
            best_size, best_rate = size, rate
        elif rate < 0.8 * best_rate:
            break
    return best_size


def _images_per_second(encoder: Encoder, batch: torch.Tensor, min_seconds: float) -> float:
    encoder.encode(batch)
    _synchronize(encoder.device)
    calls, start = 0, time.perf_counter()
    while True:
        encoder.encode(batch)
        calls += 1
        _synchronize(encoder.device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * batch.shape[0] / elapsed


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def encode_batches(
    encoder: Encoder,
    render: Render,
    n: int,
    *,
    batch_size: int,
    out: np.ndarray | None = None,
    progress: bool | None = None,
    description: str = "encoding",
) -> np.ndarray:
    """Encode ``n`` observations that ``render(start, stop)`` produces, batch by batch.

    ``render`` returns float32 ``(stop - start, C, H, W)``; it is asked for ``READ_ROWS``
    rows at a time (rounded to whole batches), so its fixed cost per call is shared by
    several batches. When rendering costs
    more than ``OVERLAP_RATIO`` of encoding (procedural images, a slow disk), it runs on
    a background thread one read ahead of the encoder; when it is cheaper (reading a
    memory-mapped grid), a second thread would only compete with torch's own threads for
    the cores, so batches are read in line. On CUDA the batch goes through pinned memory
    with a non-blocking copy, and codes come back to the host every ``FLUSH_ROWS`` rows
    rather than every batch, so the GPU is not stalled by a synchronising copy per batch.

    Parameters
    ----------
    out : ndarray of shape (n, D), optional
        Where to write the codes (e.g. a memory-mapped cache file); allocated if absent.
    progress : bool or None
        Show a progress bar: True always, False never, None (default) on a terminal, for
        runs that take more than two seconds.

    Returns
    -------
    ndarray of shape (n, D), float32
    """
    if n <= 0:
        raise ExtractionError("nothing to encode: the plan has no rows")
    device = encoder.device
    cuda = device.type == "cuda"
    read = batch_size * max(1, READ_ROWS // batch_size)
    spans = [(start, min(start + read, n)) for start in range(0, n, read)]
    on_device: list[tuple[int, torch.Tensor]] = []
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=n, unit="img", desc=description, disable=not show, delay=0 if progress else 2)

    def flush() -> None:
        """Copy the waiting codes (consecutive batches) to ``out`` in one transfer."""
        nonlocal out
        if not on_device:
            return
        start = on_device[0][0]
        host = torch.cat([codes for _, codes in on_device]).to("cpu", torch.float32).numpy()
        if out is None:
            out = np.empty((n, host.shape[1]), dtype=np.float32)
        out[start : start + len(host)] = host
        on_device.clear()

    def encode(start: int, images: np.ndarray) -> None:
        chunk = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        if cuda:
            chunk = chunk.pin_memory()
        for offset in range(0, len(chunk), batch_size):
            batch = chunk[offset : offset + batch_size].to(device, non_blocking=cuda)
            on_device.append((start + offset, encoder.encode(batch)))
        if not cuda or len(on_device) * batch_size >= FLUSH_ROWS:
            flush()
        bar.update(len(images))

    began = time.perf_counter()
    first = render(*spans[0])
    rendered = time.perf_counter()
    encode(0, first)
    _synchronize(device)
    render_seconds, encode_seconds = rendered - began, time.perf_counter() - rendered
    if render_seconds < OVERLAP_RATIO * encode_seconds:
        for start, stop in spans[1:]:
            encode(start, render(start, stop))
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="disbench-render") as reader:
            ahead = [reader.submit(render, *span) for span in spans[1:2]]
            for index, (start, _) in enumerate(spans[1:], start=1):
                images = ahead.pop(0).result()
                if index + 1 < len(spans):
                    ahead.append(reader.submit(render, *spans[index + 1]))
                encode(start, images)
    flush()
    bar.close()
    assert out is not None
    return out


def check_finite_codes(codes: np.ndarray, what: str) -> np.ndarray:
    """``codes`` unchanged, or ``ExtractionError`` naming the code dimensions with NaN or inf."""
    finite = np.isfinite(codes)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=0))
        rows = int((~finite.all(axis=1)).sum())
        raise ExtractionError(
            f"the encoder returned NaN or infinite values for {rows} of {len(codes)} {what}, "
            f"in code dimensions {', '.join(map(str, bad))}; check the model and its input "
            "conventions (--input-range, --input-layout)"
        )
    return codes


class GridCodeCache:
    """Codes of a whole finite grid, encoded once and kept on disk.

    The file is ``<cache>/codes/<key>.npy`` (float32 ``(len(dataset), D)``, memory-mapped
    when read) beside ``<key>.json`` (what the key was made of). The key is the SHA-256 of
    the model's SHA-256, the adapter's options and the data set's fingerprint, so a changed
    model file, input convention or data file is a new entry. The file is written under a
    temporary name and moved into place when complete: an interrupted run leaves no entry,
    and concurrent writers cannot expose half a file.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "codes"

    @staticmethod
    def key(encoder: Encoder, dataset: GroundTruthDataset) -> str | None:
        """The entry's key, or None when the encoder has no file hash to key on."""
        if encoder.sha256 is None:
            return None
        content = {
            "model_sha256": encoder.sha256,
            "adapter": type(encoder).__name__,
            "options": encoder.options,
            "dataset": dataset.fingerprint,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        """The cached codes (read-only memory map), or None when absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError):
            return None

    def encode(
        self,
        encoder: Encoder,
        dataset: FiniteDataset,
        key: str,
        *,
        batch_size: int,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Encode every row of ``dataset`` into the cache entry ``key``; returns it mapped."""
        self.root.mkdir(parents=True, exist_ok=True)
        n = len(dataset)
        first = encoder.encode(
            torch.from_numpy(dataset.observations_at(np.zeros(1, dtype=np.int64))).to(
                encoder.device
            )
        )
        tmp = self.root / f".{key}.{os.getpid()}.{time.monotonic_ns()}.npy"
        try:
            out = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.float32, shape=(n, first.shape[1])
            )

            def render(start: int, stop: int) -> np.ndarray:
                return dataset.observations_at(np.arange(start, stop, dtype=np.int64))

            encode_batches(
                encoder,
                render,
                n,
                batch_size=batch_size,
                out=out,
                progress=progress,
                description=f"encoding the {dataset.name} grid",
            )
            for start in range(0, n, GRID_CHUNK_ROWS):
                check_finite_codes(np.asarray(out[start : start + GRID_CHUNK_ROWS]), "grid rows")
            out.flush()
            del out
            os.replace(tmp, self.path(key))
        finally:
            tmp.unlink(missing_ok=True)
        self.path(key).with_suffix(".json").write_text(
            json.dumps(
                {"model": encoder.provenance(), "dataset": dataset.provenance()},
                indent=2,
                default=str,
            )
        )
        loaded = self.load(key)
        if loaded is None:
            raise ExtractionError(f"the code cache {self.path(key)} could not be read back")
        return loaded


def extract(
    encoder: Encoder,
    dataset: GroundTruthDataset,
    *,
    factors: np.ndarray | None = None,
    indices: np.ndarray | None = None,
    batch_size: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool | None = None,
) -> np.ndarray:
    """Codes of factor rows (any data set) or stored rows (finite data sets).

    Give exactly one of ``factors`` (int ``(n, K)``) or ``indices`` (int ``(n,)``, finite
    data sets only). On a finite grid of at most ``MAX_CACHED_ROWS`` rows and an encoder
    with a file hash, the whole grid is encoded once into the cache (``cache=True``: the
    default folder; a path: that folder; False: no cache) and the rows are looked up;
    otherwise only the requested rows are rendered and encoded (each distinct stored row
    once).

    Parameters
    ----------
    batch_size : int, optional
        Observations per encoder call; by default the fastest size found by
        ``probe_batch_size`` on this device.

    Returns
    -------
    ndarray of shape (n, D), float32
        Codes in the order of the rows given.
    """
    if (factors is None) == (indices is None):
        raise TypeError("give exactly one of factors= or indices=")
    finite = isinstance(dataset, FiniteDataset)
    if indices is None and finite:
        indices = dataset.index(factors)
    if indices is not None and not finite:
        raise TypeError(f"{dataset.name} has no stored rows to index; pass factors=")

    if finite:
        indices = np.asarray(indices, dtype=np.int64)
        cached = _cached_grid(encoder, dataset, cache, batch_size, progress)
        if cached is not None:
            return np.asarray(cached[indices])
        rows, inverse = np.unique(indices, return_inverse=True)

        def render(start: int, stop: int) -> np.ndarray:
            return dataset.observations_at(rows[start:stop])

        n = len(rows)
    else:

        def render(start: int, stop: int) -> np.ndarray:
            return dataset.observations(factors[start:stop])

        n, inverse = len(factors), None
    size = batch_size or probe_batch_size(encoder, dataset.observation_shape, max_batch_size=n)
    codes = encode_batches(encoder, render, n, batch_size=size, progress=progress)
    check_finite_codes(codes, "observations")
    return codes if inverse is None else codes[inverse]


def _cached_grid(
    encoder: Encoder,
    dataset: FiniteDataset,
    cache: bool | str | os.PathLike[str],
    batch_size: int | None,
    progress: bool | None,
) -> np.ndarray | None:
    if cache is False or not dataset.is_grid or len(dataset) > MAX_CACHED_ROWS:
        return None
    store = GridCodeCache(None if cache is True else cache)
    key = store.key(encoder, dataset)
    if key is None:
        return None
    codes = store.load(key)
    if codes is None:
        size = batch_size or probe_batch_size(encoder, dataset.observation_shape)
        codes = store.encode(encoder, dataset, key, batch_size=size, progress=progress)
    return codes
