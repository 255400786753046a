"""Atomic writes: an output file is complete or absent, never half-written.

Every writer in the library goes through these helpers: the data goes to a temporary file in
the destination's directory (same file system), which replaces the destination with
:func:`os.replace` only once it is complete; on any error the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "staging_directory",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    For writers that want a file name (``h5py.File``, ``np.savez``, papermill). ``suffix`` is
    appended to the temporary name for writers that look at the extension (``.npz``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a plain open() would not
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (``default=str``) atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def staging_directory(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden directory inside ``dest`` (created); it is removed afterwards.

    Multi-file writers fill it, then move each finished file into place with
    :func:`os.replace`, so a failure half-way leaves no partial file under a final name.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=dest))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def refuse_existing(dest: str | os.PathLike, names, *, overwrite: bool) -> list[Path]:
    """The entries ``dest / name`` that exist; unless ``overwrite``, raise if there are any."""
    clashes = [Path(dest) / n for n in names if (Path(dest) / n).exists()]
    if clashes and not overwrite:
        raise FileExistsError(
            f"{[str(c) for c in clashes]} already exist: delete them or pass overwrite=True.")
    return clashes


def install_staged(staging: Path, dest: str | os.PathLike, names, *, remove=()) -> dict[str, Path]:
    """Move ``staging / name`` onto ``dest / name`` for each name (:func:`os.replace`), after
    deleting what is there (a folder, a file or a symbolic link) and the entries ``remove``;
    returns ``{name: dest / name}``. With :func:`staging_directory`: a multi-file writer's outputs
    appear only once all of them are complete."""
    dest = Path(dest)
    for name in [*remove, *names]:
        target = dest / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    out = {}
    for name in names:
        os.replace(Path(staging) / name, dest / name)
        out[name] = dest / name
    return out
