"""A sharded HDF5 sample store: per-vertex maps, written once, read by whole chunks.

A store directory is complete or absent (written in a sibling staging folder that replaces
``directory`` once ``manifest.json``, written last, is in it)::

    shard-00000.h5   x: (n, channels, vertices) float32, chunked (chunk_samples, C, V)
                     y: (n, vertices) int8 class labels, chunked (chunk_samples, V)
    shard-00001.h5   ... samples_per_shard samples each, the last shard may hold fewer
    manifest.json    format, version, channels, vertices, dtypes, compression, chunk_samples,
                     the shard files with their sample counts, the total, the names in order

Global sample ``i`` is the ``i``-th appended. A chunk holds whole samples (reading one
decompresses exactly what it returns); :attr:`ShardStore.chunks` lists them as ``(shard,
start, stop)`` global ranges (each shard's last chunk may be partial).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import atomic_write_json

__all__ = ["COMPRESSIONS", "MANIFEST", "ShardStore", "ShardWriter", "open_store"]

FORMAT, FORMAT_VERSION, MANIFEST = "deepsphere-shards", 1, "manifest.json"
COMPRESSIONS = ("blosc-lz4", "lzf", "gzip", "none")
_DAMAGED = "the store is damaged: delete it and rerun the conversion"


def _filter_options(compression: str) -> dict:
    """h5py ``create_dataset`` keywords of a compression choice (see ``COMPRESSIONS``)."""
    if compression == "blosc-lz4":
        import hdf5plugin  # registers the Blosc filter with HDF5

        # byte shuffle: 3 % larger than bit shuffle on smooth float32 fields, 1.7x faster to
        # decode (benchmarks/results/climate_data.md)
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    options = {"lzf": {"compression": "lzf", "shuffle": True},
               "gzip": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
               "none": {}}
    if compression not in options:
        raise ValueError(f"compression={compression!r}: choose one of {', '.join(COMPRESSIONS)}")
    return options[compression]


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class ShardWriter:
    """Write samples ``(x (C, V), y (V,), name)`` into a new store at ``directory``.

    Use as a context manager: the store appears at ``directory`` when the ``with`` block ends
    without an exception, and nothing is left there otherwise. ``x`` is cast to float32 (any
    float dtype; finite values only), ``y`` to int8 (any integer dtype, values in [-128, 127]).
    A store (or any non-empty folder) at ``directory`` is refused unless ``overwrite=True``.
    ``chunk_samples``: samples per HDF5 chunk, the unit of decompression (default 8: 5.2 MB of
    climate maps; 4 to 8 decode fastest, benchmarks/results/climate_data.md). A chunk is
    buffered in memory and written once, whole.
    """

    def __init__(self, directory, *, channels: int, vertices: int, samples_per_shard: int = 1024,
                 chunk_samples: int = 8, compression: str = "blosc-lz4", overwrite: bool = False):
        self.directory = Path(directory)
        self.channels = _positive("channels", channels)
        self.vertices = _positive("vertices", vertices)
        self.samples_per_shard = _positive("samples_per_shard", samples_per_shard)
        self.chunk_samples = min(_positive("chunk_samples", chunk_samples), self.samples_per_shard)
        self.compression, self._filters = compression, _filter_options(compression)
        self.overwrite = bool(overwrite)
        self._refuse_existing()
        self._staging: Path | None = None
        self._file, self._shards, self.names, self._fill = None, [], [], 0
        self._x = np.empty((self.chunk_samples, self.channels, self.vertices), np.float32)
        self._y = np.empty((self.chunk_samples, self.vertices), np.int8)

    def _refuse_existing(self) -> None:
        d = self.directory
        if self.overwrite or not d.exists() or (d.is_dir() and not any(d.iterdir())):
            return
        what = "a shard store" if (d / MANIFEST).exists() else "a non-empty folder"
        raise FileExistsError(f"{d} already holds {what}: delete it or pass overwrite=True")

    def __enter__(self) -> ShardWriter:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        # a writer killed outright (SIGKILL, a cancelled job) left its staging folder: remove it
        for stale in self.directory.parent.glob(f".{self.directory.name}.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.staging-",
                                              dir=self.directory.parent))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            self._close_shard()
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
                self._staging = None

    def append(self, x, y, name: str) -> None:
        """Add one sample: ``x`` ``(channels, vertices)``, ``y`` ``(vertices,)``, ``name`` a str."""
        self.append_many(np.asarray(x)[None], np.asarray(y)[None], [name])

    def append_many(self, x, y, names) -> None:
        """Add ``n`` samples: ``x`` ``(n, channels, vertices)``, ``y`` ``(n, vertices)``."""
        if self._staging is None:
            raise RuntimeError("use ShardWriter as a context manager: with ShardWriter(...) as w:")
        names = list(names)
        x, y = self._checked(np.asarray(x), np.asarray(y), names)
        done = 0
        while done < len(names):
            written = self._shards[-1]["samples"] if self._file is not None else 0
            room = min(self.chunk_samples, self.samples_per_shard - written)  # chunk, shard
            take = min(room - self._fill, len(names) - done)
            self._x[self._fill:self._fill + take] = x[done:done + take]
            self._y[self._fill:self._fill + take] = y[done:done + take]
            self._fill, done = self._fill + take, done + take
            if self._fill == room:
                self._flush()
        self.names.extend(names)

    def _checked(self, x, y, names):
        first = names[0] if names else "?"
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"sample names must be str, got {[type(n).__name__ for n in names]}")
        if x.shape != (len(names), self.channels, self.vertices) or x.dtype.kind != "f":
            raise ValueError(f"sample {first!r}: x must be floating point of shape "
                             f"({self.channels}, {self.vertices}) (channels, vertices), got "
                             f"{x.dtype} {x.shape[1:]}")
        if y.shape != (len(names), self.vertices) or y.dtype.kind not in "iu":
            raise ValueError(f"sample {first!r}: y must be integer class labels of shape "
                             f"({self.vertices},) (vertices), got {y.dtype} {y.shape[1:]}")
        x = x.astype(np.float32, copy=False)
        bad = np.flatnonzero(~np.isfinite(x).reshape(len(names), -1).all(axis=1))
        if bad.size:
            raise ValueError(f"sample {names[bad[0]]!r}: x has NaN or inf values; fill or drop "
                             "them before the conversion")
        bad = np.flatnonzero(((y < -128) | (y > 127)).any(axis=1))
        if bad.size:
            raise ValueError(f"sample {names[bad[0]]!r}: labels span [{y[bad[0]].min()}, "
                             f"{y[bad[0]].max()}], outside int8 [-128, 127]")
        return x, y

    def _flush(self) -> None:
        """Write the buffered samples: one whole chunk, or the last partial one."""
        import h5py

        if self._fill == 0:
            return
        if self._file is None:  # a new shard
            name = f"shard-{len(self._shards):05d}.h5"
            self._file = h5py.File(self._staging / name, "w")
            self._shards.append({"file": name, "samples": 0})
            c, v, k = self.channels, self.vertices, self.samples_per_shard
            for key, tail, dtype in (("x", (c, v), np.float32), ("y", (v,), np.int8)):
                self._file.create_dataset(key, shape=(0, *tail), maxshape=(k, *tail),
                                          dtype=dtype, chunks=(self.chunk_samples, *tail),
                                          **self._filters)
        shard, n = self._shards[-1], self._fill
        start, self._fill = shard["samples"], 0
        for key, buf in (("x", self._x), ("y", self._y)):
            self._file[key].resize(start + n, axis=0)
            self._file[key][start:start + n] = buf[:n]
        shard["samples"] = start + n
        if shard["samples"] == self.samples_per_shard:
            self._close_shard()

    def _close_shard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _finish(self) -> None:
        self._flush()
        self._close_shard()
        if not self.names:
            raise ValueError(f"no sample was appended: nothing to write at {self.directory}")
        atomic_write_json(self._staging / MANIFEST, {
            "format": FORMAT, "version": FORMAT_VERSION, "channels": self.channels,
            "vertices": self.vertices, "dtype": {"x": "float32", "y": "int8"},
            "compression": self.compression, "chunk_samples": self.chunk_samples,
            "samples_per_shard": self.samples_per_shard, "shards": self._shards,
            "n_samples": len(self.names), "names": self.names})
        self._refuse_existing()  # another writer may have finished meanwhile
        old = None
        if self.directory.exists() or self.directory.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.old-",
                                        dir=self.directory.parent))
            os.replace(self.directory, old / "store")
        os.replace(self._staging, self.directory)
        self._staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class ShardStore:
    """A store written by :class:`ShardWriter` (open it with :func:`open_store`).

    The HDF5 files stay open for the store's lifetime (``close()`` or ``with``); a pickled store
    reopens them on first use. h5py serialises all HDF5 calls (thread-safe, not parallel).
    """

    def __init__(self, directory, manifest: dict):
        self.directory, self.manifest = Path(directory), manifest
        self.channels, self.vertices = int(manifest["channels"]), int(manifest["vertices"])
        self.chunk_samples = int(manifest["chunk_samples"])
        self.compression = manifest["compression"]
        self.shard_files = [s["file"] for s in manifest["shards"]]
        self.shard_sizes = [int(s["samples"]) for s in manifest["shards"]]
        self.names, self.n_samples = list(manifest["names"]), int(manifest["n_samples"])
        self.shard_starts = np.concatenate([[0], np.cumsum(self.shard_sizes)]).astype(np.int64)
        self.chunks = [(s, int(self.shard_starts[s]) + a,
                        int(self.shard_starts[s]) + min(a + self.chunk_samples, size))
                       for s, size in enumerate(self.shard_sizes)
                       for a in range(0, size, self.chunk_samples)]
        self._files = None

    def __len__(self) -> int:
        return self.n_samples

    def _open(self) -> list:
        if self._files is None:
            import h5py
            import hdf5plugin  # noqa: F401 - registers the Blosc filter

            self._files = [h5py.File(self.directory / name, "r") for name in self.shard_files]
        return self._files

    def close(self) -> None:
        """Close the HDF5 files (a later read reopens them)."""
        for f in self._files or ():
            f.close()
        self._files = None

    def __enter__(self) -> ShardStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_files": None}

    def _out(self, n: int, out):
        if out is None:
            return (np.empty((n, self.channels, self.vertices), np.float32),
                    np.empty((n, self.vertices), np.int8))
        return out[0][:n], out[1][:n]

    def _read_range(self, shard: int, start: int, stop: int, xo, yo) -> None:
        """Global samples ``[start, stop)`` of ``shard`` into ``xo``, ``yo`` (``stop - start``)."""
        f = self._open()[shard]
        a, b = start - int(self.shard_starts[shard]), stop - int(self.shard_starts[shard])
        try:
            f["x"].read_direct(xo, np.s_[a:b])
            f["y"].read_direct(yo, np.s_[a:b])
        except OSError as err:  # a damaged chunk: its filter fails
            raise OSError(f"{f.filename}: cannot read samples {a}:{b} ({err}); {_DAMAGED}") \
                from err

    def read_chunk(self, chunk_index: int, *, out=None):
        """The samples of chunk ``chunk_index`` (:attr:`chunks`): ``x`` ``(n, C, V)`` float32,
        ``y`` ``(n, V)`` int8. ``out=(x_buf, y_buf)`` (C-contiguous, >= n rows) is filled and
        views of its first n rows are returned."""
        shard, start, stop = self.chunks[chunk_index]
        xo, yo = self._out(stop - start, out)
        self._read_range(shard, start, stop, xo, yo)
        return xo, yo

    def read(self, indices, *, out=None):
        """Samples at global ``indices`` (any order, repeats allowed), in that order: ``x``
        ``(n, C, V)`` float32, ``y`` ``(n, V)`` int8. One read per run of consecutive indices
        of one shard, in increasing order."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_samples):
            raise IndexError(f"indices span [{idx.min()}, {idx.max()}], outside the store's "
                             f"[0, {self.n_samples})")
        uniq, inverse = np.unique(idx, return_inverse=True)
        direct = len(uniq) == len(idx) and np.array_equal(uniq, idx)
        xs, ys = self._out(len(uniq), out if direct else None)
        shard = np.searchsorted(self.shard_starts, uniq, side="right") - 1
        breaks = np.flatnonzero((np.diff(uniq) != 1) | (np.diff(shard) != 0)) + 1
        for lo, hi in zip([0, *breaks], [*breaks, len(uniq)], strict=True):
            if hi > lo:
                self._read_range(int(shard[lo]), int(uniq[lo]), int(uniq[hi - 1]) + 1,
                                 xs[lo:hi], ys[lo:hi])
        if direct:
            return xs, ys
        xo, yo = self._out(len(idx), out)
        np.take(xs, inverse, axis=0, out=xo)
        np.take(ys, inverse, axis=0, out=yo)
        return xo, yo

    def labels(self) -> np.ndarray:
        """All labels ``(n_samples, V)`` int8 in global order (reads only ``y``)."""
        y = np.empty((self.n_samples, self.vertices), np.int8)
        for s, f in enumerate(self._open()):
            f["y"].read_direct(y, dest_sel=np.s_[self.shard_starts[s]:self.shard_starts[s + 1]])
        return y


def open_store(directory) -> ShardStore:
    """Open the store at ``directory``, checking its manifest and every shard's sample count."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no shard store at {directory}: run the conversion first")
    path = directory / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{directory} has no {MANIFEST}: the store is incomplete (an "
                                "interrupted conversion?); delete it and rerun the conversion")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a {FORMAT} manifest of version {FORMAT_VERSION} (got "
                         f"{manifest.get('format')!r} {manifest.get('version')!r}); rerun the "
                         "conversion with this version of deepsphere")
    store = ShardStore(directory, manifest)
    if sum(store.shard_sizes) != store.n_samples or len(store.names) != store.n_samples:
        raise ValueError(f"{path}: the shard sizes, the total and the names disagree; "
                         f"{_DAMAGED}")
    for name in store.shard_files:
        if not (directory / name).is_file():
            raise FileNotFoundError(f"shard {directory / name} is missing; {_DAMAGED}")
    c, v = store.channels, store.vertices
    try:
        files = store._open()
    except OSError as err:  # not an HDF5 file (truncated, overwritten)
        raise OSError(f"a shard of {directory} cannot be opened ({err}); {_DAMAGED}") from err
    for f, n in zip(files, store.shard_sizes, strict=True):
        shapes = {k: f[k].shape if k in f else None for k in ("x", "y")}
        if shapes != {"x": (n, c, v), "y": (n, v)}:
            message = (f"shard {f.filename} holds x {shapes['x']}, y {shapes['y']}; the "
                       f"manifest says {n} samples of ({c}, {v}); {_DAMAGED}")
            store.close()
            raise ValueError(message)
    return store
