"""Checks on what is read from disk, shared by every experiment's data steps.

- :func:`open_hdf5`: open an HDF5 file for reading; a missing, truncated or corrupt file gives
  one :class:`CorruptFileError` naming the file and the fix (never a bare ``OSError``).
- Manifests: a writer records what it wrote (per array: shape, dtype and the SHA-256 of its
  bytes, see :class:`ArrayDigest`; plus counts and metadata) with :func:`write_manifest`; a reader
  recomputes the same dict and :func:`check_manifest` refuses any difference, naming the field.
- :func:`find_nonfinite`, :func:`nonfinite_summary`: NaN / infinite values of an array (chunked,
  works on memory maps).
- :func:`file_sha256` and :func:`check_file_digests`: files against recorded sizes and SHA-256
  (e.g. generated archives).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "CorruptFileError",
    "NonFiniteError",
    "MANIFEST_ATTR",
    "ArrayDigest",
    "array_entry",
    "open_hdf5",
    "write_manifest",
    "read_manifest",
    "check_manifest",
    "find_nonfinite",
    "nonfinite_summary",
    "file_sha256",
    "file_entry",
    "check_file_digests",
]

MANIFEST_ATTR = "manifest"
_CHUNK = 1 << 22  # array elements per finiteness check


class CorruptFileError(ValueError):
    """A file on disk that cannot be read, or does not hold what its writer recorded."""


class NonFiniteError(ValueError):
    """Input data holding NaN or infinite values."""


class ArrayDigest:
    """SHA-256 of an array's C-order little-endian bytes, fed in consecutive leading-axis chunks.

    Feeding ``a[0:2]`` then ``a[2:]`` gives the digest of ``a`` itself, so a writer can hash what
    it writes chunk by chunk and a reader can hash what it reads in one piece (or in chunks).
    """

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._wire = self.dtype.newbyteorder("<")
        self._sha = hashlib.sha256()

    def update(self, chunk: np.ndarray) -> ArrayDigest:
        a = np.ascontiguousarray(chunk, dtype=self._wire)
        self._sha.update(a.reshape(-1).view(np.uint8))
        return self

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def array_entry(a: np.ndarray, digest: ArrayDigest | None = None) -> dict:
    """``{"shape", "dtype", "sha256"}`` of an array (``digest``: already fed with its bytes)."""
    a = np.asarray(a) if digest is None else a
    if digest is None:
        digest = ArrayDigest(a.dtype).update(a)
    return {"shape": [int(n) for n in a.shape], "dtype": np.dtype(a.dtype).name,
            "sha256": digest.hexdigest()}


def _default_fix(path) -> str:
    return f"delete {path} and rerun the step that writes it (it is then rebuilt)"


@contextlib.contextmanager
def open_hdf5(path: str | os.PathLike, *, fix: str | None = None) -> Iterator:
    """Open an HDF5 file read-only; any read error inside the block names the file and the fix.

    Raises :class:`FileNotFoundError` for a missing file and :class:`CorruptFileError` (the file,
    the low-level error and ``fix``, default "delete it and rerun") for a truncated or corrupt one.
    """
    import h5py

    path = Path(path)
    fix = fix or _default_fix(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the step that writes it first.")

    def corrupt(err: BaseException) -> CorruptFileError:
        return CorruptFileError(
            f"{path}: cannot read this HDF5 file ({type(err).__name__}: {err}; "
            f"{path.stat().st_size} bytes on disk): it is truncated or corrupt, e.g. an "
            f"interrupted copy. Fix: {fix}."
        )

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise corrupt(err) from err
    try:
        with f:
            yield f
    except (OSError, KeyError) as err:  # h5py: unreadable chunk, damaged object header
        raise corrupt(err) from err


def write_manifest(h5file, manifest: Mapping) -> None:
    """Store ``manifest`` (JSON-able) as the attribute :data:`MANIFEST_ATTR` of an open file."""
    h5file.attrs[MANIFEST_ATTR] = json.dumps(manifest, sort_keys=True, default=_plain)


def read_manifest(h5file, path: str | os.PathLike, *, fix: str | None = None) -> dict:
    """The manifest recorded by :func:`write_manifest`; :class:`CorruptFileError` if absent."""
    fix = fix or _default_fix(path)
    raw = h5file.attrs.get(MANIFEST_ATTR)
    if raw is None:
        raise CorruptFileError(
            f"{path} records no manifest of what was written (it was written by an older "
            f"version or by another program), so it cannot be verified. Fix: {fix}."
        )
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as err:
        raise CorruptFileError(f"{path}: its manifest is not valid JSON ({err}). Fix: {fix}.") from None


def _flatten(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _plain(value):
    """JSON fallback: NumPy scalars (as h5py returns attributes) as Python ones, else ``str``."""
    return value.item() if isinstance(value, np.generic) else str(value)


def check_manifest(
    path: str | os.PathLike, recorded: Mapping, actual: Mapping, *, fix: str | None = None
) -> None:
    """Raise one :class:`CorruptFileError` naming every field where ``actual`` differs.

    Both are nested dicts compared after a JSON round trip (tuples and lists are equal); a
    field present in only one of them is a difference too.
    """
    rec = _flatten(json.loads(json.dumps(recorded)))
    act = _flatten(json.loads(json.dumps(actual, default=_plain)))
    missing = object()
    diffs = [
        f"  {key}: recorded {rec.get(key, '(absent)')!r}, the file holds {act.get(key, '(absent)')!r}"
        for key in sorted(set(rec) | set(act))
        if rec.get(key, missing) != act.get(key, missing)
    ]
    if diffs:
        raise CorruptFileError(
            f"{path} does not hold what its writer recorded ({len(diffs)} field(s) differ):\n"
            + "\n".join(diffs)
            + f"\nIt was modified or damaged after it was written. Fix: {fix or _default_fix(path)}."
        )


def find_nonfinite(a: np.ndarray, *, chunk: int = _CHUNK) -> tuple[int, int, int] | None:
    """``None`` if every value of ``a`` is finite, else ``(n_nan, n_inf, first)`` with ``first``
    the flat (C-order) index of the first bad value. Reads ``chunk`` elements at a time, so a
    memory map stays on disk."""
    flat = np.asarray(a).reshape(-1)  # a view
    if not np.issubdtype(flat.dtype, np.inexact):
        return None
    n_nan = n_inf = 0
    first = None
    for start in range(0, flat.size, chunk):
        block = np.asarray(flat[start : start + chunk])
        bad = ~np.isfinite(block)
        if bad.any():
            nan = int(np.isnan(block).sum())
            n_nan += nan
            n_inf += int(bad.sum()) - nan
            if first is None:
                first = start + int(np.argmax(bad))
    return None if first is None else (n_nan, n_inf, first)


def nonfinite_summary(a: np.ndarray, *, chunk: int = _CHUNK) -> str | None:
    """``None`` if every value is finite, else e.g. ``"2 NaN and 1 infinite value(s); the first
    at index 17"`` (see :func:`find_nonfinite`)."""
    found = find_nonfinite(a, chunk=chunk)
    if found is None:
        return None
    n_nan, n_inf, first = found
    return f"{n_nan} NaN and {n_inf} infinite value(s); the first at index {first}"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (:func:`deepsphere.io.source.file_checksum`)."""
    from deepsphere.io.source import file_checksum

    return file_checksum(path, "sha256")


def file_entry(path: str | os.PathLike) -> dict:
    """``{"size": bytes, "sha256": hex}`` of a file, as :func:`check_file_digests` expects."""
    return {"size": Path(path).stat().st_size, "sha256": file_sha256(path)}


def check_file_digests(
    directory: str | os.PathLike, recorded: Mapping[str, Mapping], *, fix: str
) -> None:
    """Check ``directory / name`` against ``recorded[name]`` (:func:`file_entry`) for every name.

    Raises one :class:`CorruptFileError` listing every missing or differing file, with ``fix``.
    """
    directory = Path(directory)
    problems = []
    for name, rec in sorted(recorded.items()):
        path = directory / name
        if not path.is_file():
            problems.append(f"  {path}: missing")
            continue
        size = path.stat().st_size
        if size != rec["size"]:
            problems.append(f"  {path}: {size} bytes, recorded {rec['size']}")
        elif (digest := file_sha256(path)) != rec["sha256"]:
            problems.append(f"  {path}: sha256 {digest}, recorded {rec['sha256']}")
    if problems:
        raise CorruptFileError(
            f"{len(problems)} file(s) differ from the checksums recorded when they were written "
            "(modified, truncated or damaged since):\n" + "\n".join(problems) + f"\nFix: {fix}."
        )


def verify_recorded_files(record: str | os.PathLike, key: str, *, fix: str) -> dict:
    """Read the JSON ``record`` (e.g. a stand-in's ``standin.json``) and check the files it lists
    under ``key`` (``{name: file_entry}``, names relative to the record's folder); return it.

    A missing record raises :class:`FileNotFoundError`; an unreadable one, one without ``key``,
    or any differing file raises :class:`CorruptFileError` with ``fix``.
    """
    record = Path(record)
    try:
        params = json.loads(record.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{record} does not exist: write the data first.") from None
    except (OSError, ValueError) as err:
        raise CorruptFileError(f"{record} is not readable JSON ({err}). Fix: {fix}.") from None
    entries = params.get(key) if isinstance(params, dict) else None
    if not entries:
        raise CorruptFileError(
            f"{record} records no file checksums ('{key}'; written by an older version?), so "
            f"the files cannot be verified. Fix: {fix}.")
    check_file_digests(record.parent, entries, fix=fix)
    return params
