"""From the raw archive to what the networks read: unpack, convert each split into HDF5 shards,
and the training split's statistics.

- :func:`unpack_maps`: ``climate_sphere_l5.zip`` -> ``<dest>/data_5_all/`` (the free space for
  the unpacked size, read from the zip's directory, is checked first), or a hand-placed
  ``data/manual/climate/data_5_all/`` used in place; writes ``maps.json`` naming the folder.
- :func:`convert_split`: the maps of one split list -> a shard store (``(map, channel,
  vertex)`` float32 and int8 labels, chunked and compressed; :mod:`deepsphere.io.shards`).
  Every listed file must exist (all missing ones are named before any is read); each map is
  checked by :func:`~deepsphere.experiments.climate.maps.read_map` (NaN, shape, one-hot
  labels: an error naming the file); the first maps' vertex order is checked against our
  icosphere before the conversion starts.
- :func:`training_statistics`: per-channel mean and std and the class counts and weights, from
  the **training split only** (the original overwrote its statistics with other splits').
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from deepsphere.experiments.climate import maps as _maps
from deepsphere.experiments.climate.sources import MANUAL_DIR, MAPS_FOLDER, read_split_list
from deepsphere.io.atomic import atomic_write_json
from deepsphere.training.statistics import RunningMoments, class_counts, class_weights

log = logging.getLogger(__name__)

__all__ = ["check_listed_files", "convert_split", "read_maps_record", "training_statistics",
           "unpack_maps"]

#: Maps read first to check the vertex order (before any conversion).
ORDER_CHECK_MAPS = 8
#: Bytes of one map in a store, uncompressed: 16 x 10,242 float32 and 10,242 int8 labels.
_MAP_BYTES = (16 * 4 + 1) * 10242


def unpack_maps(archive: str | os.PathLike | None, dest: str | os.PathLike, *,
                manual_maps: str | os.PathLike | None = None,
                record: str | os.PathLike) -> dict:
    """Unpack ``archive`` into ``dest/data_5_all`` (or take the hand-placed ``manual_maps``
    folder in place) and write ``record`` (``maps.json``: the folder, its source, the number
    of map files); returns the record."""
    from deepsphere.io.archives import unpack_archives
    from deepsphere.io.disk_space import ensure_free_space

    dest = Path(dest)
    if manual_maps is not None:
        folder, source = Path(manual_maps).resolve(), "placed by hand (used in place)"
    else:
        if archive is None:
            raise ValueError("unpack_maps: give the archive or a hand-placed maps folder")
        with zipfile.ZipFile(archive) as zf:
            size = sum(i.file_size for i in zf.infolist())
        ensure_free_space(dest, size, what=f"unpacking {Path(archive).name}")
        unpack_archives([archive], dest, overwrite=True)
        folder, source = (dest / MAPS_FOLDER).resolve(), f"unpacked from {archive}"
        if not folder.is_dir():
            raise ValueError(f"{archive} holds no {MAPS_FOLDER}/ folder: is it "
                             "climate_sphere_l5.zip?")
    n = sum(1 for p in folder.iterdir() if p.name.endswith("-mesh.npz"))
    out = {"maps_dir": str(folder), "source": source, "n_files": n}
    atomic_write_json(record, out)
    log.info("maps: %d files in %s (%s)", n, folder, source)
    return out


def read_maps_record(record: str | os.PathLike) -> Path:
    """The maps folder ``maps.json`` names (it must still exist)."""
    folder = Path(json.loads(Path(record).read_text(encoding="utf-8"))["maps_dir"])
    if not folder.is_dir():
        raise FileNotFoundError(f"{record} names {folder}, which no longer exists: delete "
                                f"{record} and rerun to unpack the maps again")
    return folder


def check_listed_files(maps_dir: Path, names: list[str], list_path,
                       manual_dir=MANUAL_DIR) -> list[Path]:
    """The listed files' paths; one FileNotFoundError naming every missing one (at most 10)
    and where to place the complete data by hand (``manual_dir``)."""
    paths = [maps_dir / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise FileNotFoundError(
            f"{len(missing)} of the {len(names)} maps listed in {list_path} are not in "
            f"{maps_dir}: {shown}. The archive is incomplete or the list is not its own; place "
            f"the complete climate_sphere_l5.zip (or its data_5_all/ folder) under {manual_dir}/ "
            "and rerun.")
    return paths


def convert_split(maps_record, list_path, store_dir, *, expected: int | None = None,
                  samples_per_shard: int = 1024, chunk_samples: int = 8,
                  compression: str = "blosc-lz4", order_threshold: float = 0.5,
                  manual_dir=MANUAL_DIR) -> dict:
    """Convert the maps of one split list into a shard store at ``store_dir``; returns the
    store's summary (samples, vertex-order ratio).

    The maps are stored in the list's order (deepsphere-tf1's lists are in random order, so the
    maps of a chunk, which the stream shuffles as a unit, are unrelated). The free space for the
    uncompressed maps is checked first."""
    from deepsphere.io.disk_space import ensure_free_space
    from deepsphere.io.shards import ShardWriter

    maps_dir = read_maps_record(maps_record)
    names = read_split_list(list_path, expected)
    paths = check_listed_files(maps_dir, names, list_path, manual_dir)
    ensure_free_space(Path(store_dir).parent, len(paths) * _MAP_BYTES,
                      what=f"the shards of {len(paths)} maps")
    first = [_maps.read_map(p)[0] for p in paths[:ORDER_CHECK_MAPS]]
    ratio = _maps.check_vertex_order(np.stack(first), threshold=order_threshold)
    log.info("vertex order: TMQ edge/random difference ratio %.4f (threshold %.2f)", ratio,
             order_threshold)
    with ShardWriter(store_dir, channels=len(_maps.CHANNELS), vertices=_maps.N_VERTICES,
                     samples_per_shard=samples_per_shard, chunk_samples=chunk_samples,
                     compression=compression, overwrite=True) as writer:
        for path in tqdm(paths, desc=Path(list_path).stem, unit="map", mininterval=10):
            data, labels = _maps.read_map(path)
            writer.append(data, labels, path.name)
    return {"samples": len(paths), "vertex_order_ratio": ratio}


def training_statistics(train_store, out_path) -> dict:
    """Per-channel mean and std (float64 accumulation, population std) and class counts and
    weights (``n / (n_classes n_c)``, scikit-learn's "balanced") of the training store;
    written to ``out_path`` (JSON) and returned."""
    from deepsphere.io.shards import open_store

    moments = RunningMoments(len(_maps.CHANNELS))
    counts = np.zeros(len(_maps.CLASSES), np.int64)
    with open_store(train_store) as store:
        for start in tqdm(range(0, store.n_samples, 256), desc="statistics", mininterval=10):
            x, y = store.read(np.arange(start, min(start + 256, store.n_samples)))
            moments.update_many(x)
            counts += class_counts(y, len(_maps.CLASSES))
        n_maps = store.n_samples
    weights = class_weights(counts, _maps.CLASSES)
    stats = {
        "channels": list(_maps.CHANNELS), "classes": list(_maps.CLASSES),
        "mean": moments.mean.tolist(), "std": moments.std.tolist(),
        "class_counts": counts.tolist(),
        "class_fractions": (counts / counts.sum()).tolist(),
        "class_weights": weights.tolist(), "n_maps": int(n_maps), "split": "train",
    }
    atomic_write_json(out_path, stats)
    return stats
