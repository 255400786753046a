"""Free disk space, checked before large downloads and unpacking (one clear error, no partial
work): ``ensure_free_space(path, needed_bytes, what=...)``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["NotEnoughDiskSpace", "ensure_download_space", "ensure_free_space", "free_bytes"]


class NotEnoughDiskSpace(OSError):
    """The file system of a destination has less free space than a step needs."""


def free_bytes(path: str | os.PathLike) -> int:
    """Bytes available to this user on the file system holding ``path`` (or its nearest
    existing parent folder)."""
    p = Path(path).resolve()
    while not p.exists():
        p = p.parent
    return int(shutil.disk_usage(p).free)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def ensure_free_space(path: str | os.PathLike, needed_bytes: float, *, what: str) -> int:
    """Raise :class:`NotEnoughDiskSpace` unless ``path``'s file system has ``needed_bytes``
    free; returns the free bytes. ``what`` says what needs the space (in the message)."""
    free = free_bytes(path)
    if free < needed_bytes:
        raise NotEnoughDiskSpace(
            f"{what} needs about {_gb(needed_bytes)} free at {Path(path).resolve()}, but its file "
            f"system has {_gb(free)} free. Free some space, or point the config's data folders "
            "(keys raw / interim) at a larger disk, then rerun.")
    return free


def ensure_download_space(raw_dir: str | os.PathLike, sizes, *, manual_dir=None,
                          what: str = "the download") -> float:
    """Check, before any request, that ``raw_dir`` can hold the files still to download.

    ``sizes``: ``{file name: expected bytes}``. A file already in ``raw_dir`` or placed by
    hand in ``manual_dir`` needs nothing; an interrupted one needs its size less what its
    ``.part`` file already holds. Returns the bytes checked for (0: nothing to download)."""
    raw_dir = Path(raw_dir)
    need = 0.0
    for name, size in sizes.items():
        if (raw_dir / name).exists() or (manual_dir is not None
                                         and (Path(manual_dir) / name).exists()):
            continue
        part = raw_dir / f"{name}.part"
        need += max(float(size) - (part.stat().st_size if part.exists() else 0), 0.0)
    if need:
        ensure_free_space(raw_dir, need, what=what)
    return need
