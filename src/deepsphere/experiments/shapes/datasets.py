"""The datasets' layouts: the ModelNet40 tree (``<root>/<class>/{train,test}/*.off``) and the
SHREC'17 split CSVs with their ``<split>_perturbed/<id>.obj`` files; class indexes as the
originals (sorted ModelNet40 directories; the position of a synset in the 55-synset list)."""

from __future__ import annotations

import csv
import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "ModelNetEntry",
    "modelnet40_classes",
    "modelnet40_index",
    "ShrecEntry",
    "SHREC17_CSV_HEADER",
    "shrec17_synsets",
    "shrec17_synset_names",
    "shrec17_index",
]

logger = logging.getLogger(__name__)

MODELNET40_SPLITS = ("train", "test")
SHREC17_SPLITS = ("train", "val", "test")
#: The header of SHREC'17's ``train.csv`` / ``val.csv`` / ``test.csv``.
SHREC17_CSV_HEADER = ("id", "synset", "subSynset", "modelId", "split")


# ---------------------------------------------------------------------------------- ModelNet40
class ModelNetEntry(NamedTuple):
    """One ModelNet40 mesh: its file, class index (position in the sorted class names), split."""

    path: Path
    class_index: int
    split: str


def modelnet40_classes(root: str | os.PathLike) -> list[str]:
    """The class names: the sorted names of the directories in ``root`` (40 in the real data)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory: expected <root>/<class>/train|test/")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise FileNotFoundError(f"{root} has no class directories (<root>/<class>/train|test/)")
    return classes


def modelnet40_index(
    root: str | os.PathLike, splits: Sequence[str] = MODELNET40_SPLITS
) -> list[ModelNetEntry]:
    """Every ``<root>/<class>/<split>/*.off``, ordered by class, split (as given) and file name.

    Raises :class:`FileNotFoundError` if a class has no ``<split>`` directory.
    """
    root = Path(root)
    entries = []
    for index, name in enumerate(modelnet40_classes(root)):
        for split in splits:
            directory = root / name / split
            if not directory.is_dir():
                raise FileNotFoundError(
                    f"{directory} does not exist: every class of a ModelNet40 tree has "
                    f"{' and '.join(splits)} directories"
                )
            entries.extend(
                ModelNetEntry(p, index, split)
                for p in sorted(directory.iterdir())
                if p.suffix.lower() == ".off" and p.is_file()
            )
    return entries


# ------------------------------------------------------------------------------------ SHREC'17
class ShrecEntry(NamedTuple):
    """One SHREC'17 model: its OBJ file, class index (position of the synset in
    :func:`shrec17_synsets`) and its CSV row's ``id``, ``synset``, ``subSynset``, ``modelId``."""

    path: Path
    class_index: int
    id: str
    synset: str
    subsynset: str
    model_id: str


@functools.cache
def _synset_table() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from deepsphere.reporting.paper import paper_numbers

    table = paper_numbers("deepsphere.experiments.shapes", "shrec17_synsets")
    if list(table["index"]) != list(range(len(table))):
        raise ValueError("paper/shrec17_synsets.csv: the index column is not 0, 1, 2, ...")
    synsets = tuple(_synset_id(s) for s in table["synset"])
    return synsets, tuple(str(n) for n in table["name"])


def _synset_id(value) -> str:
    """A synset id as its 8-digit string (CSV readers may have dropped the leading zero)."""
    text = str(value).strip()
    return text.zfill(8) if text.isdigit() else text


def shrec17_synsets() -> list[str]:
    """The 55 SHREC'17 synset ids in class-index order.

    From ``paper/shrec17_synsets.csv`` (columns ``index,synset,name``), transcribed from
    tf1-spec §2.5: the originals' list in ``experiments/shrec17/load_shrec.py``.
    """
    return list(_synset_table()[0])


def shrec17_synset_names() -> list[str]:
    """The 55 class names in class-index order (the originals' ``sandbox_healpix.ipynb``)."""
    return list(_synset_table()[1])


def _normalise_column(name: str) -> str:
    name = name.strip().lower()
    return {"synsetid": "synset", "subsynsetid": "subsynset"}.get(name, name)


def shrec17_index(root: str | os.PathLike, split: str) -> list[ShrecEntry]:
    """The models of ``<root>/<split>.csv`` (``id,synset,subSynset,modelId,split``), in file order,
    with their files ``<root>/<split>_perturbed/<id>.obj``.

    Raises :class:`FileNotFoundError` if the CSV or any listed OBJ file is missing and
    :class:`ValueError` for a bad header or a synset outside the 55.
    """
    if split not in SHREC17_SPLITS:
        raise ValueError(f"split must be one of {SHREC17_SPLITS}, got {split!r}")
    root = Path(root)
    csv_path = root / f"{split}.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"{csv_path} does not exist (the originals never downloaded test.csv: supply it)"
        )
    expected = [_normalise_column(c) for c in SHREC17_CSV_HEADER]
    class_of = {s: i for i, s in enumerate(shrec17_synsets())}
    entries, missing = [], []
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or [_normalise_column(c) for c in header] != expected:
            raise ValueError(
                f"{csv_path}: header {header}, expected {','.join(SHREC17_CSV_HEADER)}"
            )
        for number, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(expected):
                raise ValueError(f"{csv_path} line {number}: {len(row)} columns, expected 5")
            model, synset, subsynset, model_id, _ = (c.strip() for c in row)
            synset = _synset_id(synset)
            if synset not in class_of:
                raise ValueError(
                    f"{csv_path} line {number}: synset {synset!r} is not one of the 55 SHREC'17 "
                    "synsets"
                )
            path = root / f"{split}_perturbed" / f"{model}.obj"
            if not path.is_file():
                missing.append(str(path))
            entries.append(
                ShrecEntry(path, class_of[synset], model, synset, _synset_id(subsynset), model_id)
            )
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} model(s) listed in {csv_path} have no file, e.g. {missing[:3]}"
        )
    return entries
