"""One remote file: :class:`Source` (name, URLs, checksum, size, access), :func:`file_checksum`
and :func:`with_mirrors` (more URLs per file, e.g. from a config)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

__all__ = ["Source", "file_checksum", "with_mirrors"]

_ALGORITHMS = {"md5": 32, "sha256": 64}
_CHUNK = 1 << 20  # bytes per read


@dataclass(frozen=True)
class Source:
    """One remote file.

    Attributes:
        name: file name (the default basename at the destination), e.g. ``"training.zip"``.
        urls: URLs to try in order: primary first, then mirrors.
        checksum: ``"md5:<32 hex>"`` or ``"sha256:<64 hex>"``; ``None`` when no checksum is known
            (the file is then checked only against ``size``, if known, and the HTTP
            ``Content-Length``).
        size: size in bytes if known (checked before hashing; ``None`` if unknown).
        gated: ``True`` if the host requires permission (HTTP 401/403 is then expected).
        instructions: what a person must do to get the file by hand (e.g. request access).
        page: the human-readable landing page (e.g. the Zenodo record).
    """

    name: str
    urls: tuple[str, ...]
    checksum: str | None
    size: int | None = None
    gated: bool = False
    instructions: str = ""
    page: str | None = None
    _algo: str | None = field(init=False, repr=False, compare=False)
    _hex: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.urls, str):
            raise TypeError(f"Source {self.name!r}: urls must be a sequence of URLs, not one string")
        object.__setattr__(self, "urls", tuple(self.urls))
        if not self.urls:
            raise ValueError(f"Source {self.name!r}: give at least one URL")
        if self.size is not None and self.size < 0:
            raise ValueError(f"Source {self.name!r}: size {self.size} must be >= 0")
        if self.checksum is None:
            object.__setattr__(self, "_algo", None)
            object.__setattr__(self, "_hex", None)
            return
        algo, sep, hexdigest = self.checksum.partition(":")
        algo = algo.lower()
        if not sep or algo not in _ALGORITHMS or len(hexdigest) != _ALGORITHMS[algo]:
            raise ValueError(
                f"Source {self.name!r}: checksum {self.checksum!r} must look like "
                "'md5:<32 hex digits>' or 'sha256:<64 hex digits>' (or be None if unknown)"
            )
        try:
            int(hexdigest, 16)
        except ValueError:
            raise ValueError(f"Source {self.name!r}: checksum {self.checksum!r} is not hex") from None
        object.__setattr__(self, "_algo", algo)
        object.__setattr__(self, "_hex", hexdigest.lower())

    @property
    def algorithm(self) -> str | None:
        """``"md5"`` or ``"sha256"`` (``None``: no checksum known)."""
        return self._algo

    @property
    def hexdigest(self) -> str | None:
        """The expected checksum, lower-case hex (``None``: no checksum known)."""
        return self._hex


def with_mirrors(
    sources: Sequence[Source], mirrors: Mapping[str, Sequence[str]] | Sequence[str] | None
) -> list[Source]:
    """The sources with more URLs tried after their own (primary first, then these mirrors).

    ``mirrors`` is either ``{file name: [URL, ...]}`` (a name that is not one of the sources is
    refused with :class:`ValueError`, so a typo in a config cannot go unnoticed), or a list of base
    URLs, each holding every file under its name (``base + "/" + name``), or ``None`` (no mirror).
    A URL already in a source's list is not added twice.
    """
    if not mirrors:
        return list(sources)
    if isinstance(mirrors, str):
        raise TypeError("mirrors must be a list of base URLs or {file name: [URL, ...]}, "
                        f"not one string ({mirrors!r})")
    if isinstance(mirrors, Mapping):
        names = [s.name for s in sources]
        unknown = sorted(set(mirrors) - set(names))
        if unknown:
            raise ValueError(f"mirrors given for unknown file(s) {unknown}; the files are {names}")
        for name, urls in mirrors.items():
            if isinstance(urls, str):
                raise TypeError(f"mirrors[{name!r}] must be a list of URLs, not one string")
        extra = {name: tuple(urls) for name, urls in mirrors.items()}
    else:
        extra = {s.name: tuple(f"{base.rstrip('/')}/{s.name}" for base in mirrors) for s in sources}
    return [
        dataclasses.replace(s, urls=tuple(dict.fromkeys(s.urls + extra.get(s.name, ()))))
        for s in sources
    ]


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
