"""One remote file: :class:`Source` (name, URLs, checksum, size, access) and :func:`file_checksum`."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

__all__ = ["Source", "file_checksum"]

_ALGORITHMS = {"md5": 32, "sha256": 64}
_CHUNK = 1 << 20  # bytes per read


@dataclass(frozen=True)
class Source:
    """One remote file.

    Attributes:
        name: file name (the default basename at the destination), e.g. ``"training.zip"``.
        urls: URLs to try in order: primary first, then mirrors.
        checksum: ``"md5:<32 hex>"`` or ``"sha256:<64 hex>"``.
        size: size in bytes if known (checked before hashing; ``None`` if unknown).
        gated: ``True`` if the host requires permission (HTTP 401/403 is then expected).
        instructions: what a person must do to get the file by hand (e.g. request access).
        page: the human-readable landing page (e.g. the Zenodo record).
    """

    name: str
    urls: tuple[str, ...]
    checksum: str
    size: int | None = None
    gated: bool = False
    instructions: str = ""
    page: str | None = None
    _algo: str = field(init=False, repr=False, compare=False)
    _hex: str = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.urls, str):
            raise TypeError(f"Source {self.name!r}: urls must be a sequence of URLs, not one string")
        object.__setattr__(self, "urls", tuple(self.urls))
        if not self.urls:
            raise ValueError(f"Source {self.name!r}: give at least one URL")
        algo, sep, hexdigest = self.checksum.partition(":")
        algo = algo.lower()
        if not sep or algo not in _ALGORITHMS or len(hexdigest) != _ALGORITHMS[algo]:
            raise ValueError(
                f"Source {self.name!r}: checksum {self.checksum!r} must look like "
                "'md5:<32 hex digits>' or 'sha256:<64 hex digits>'"
            )
        try:
            int(hexdigest, 16)
        except ValueError:
            raise ValueError(f"Source {self.name!r}: checksum {self.checksum!r} is not hex") from None
        object.__setattr__(self, "_algo", algo)
        object.__setattr__(self, "_hex", hexdigest.lower())

    @property
    def algorithm(self) -> str:
        """``"md5"`` or ``"sha256"``."""
        return self._algo

    @property
    def hexdigest(self) -> str:
        """The expected checksum, lower-case hex."""
        return self._hex


def file_checksum(path: str | os.PathLike, algorithm: str, *, progress: bool = False) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of a file, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    path = Path(path)
    with (
        open(path, "rb") as f,
        tqdm(total=path.stat().st_size, unit="B", unit_scale=True, disable=not progress,
             desc=f"{algorithm} {path.name}", leave=False) as bar,
    ):
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()
