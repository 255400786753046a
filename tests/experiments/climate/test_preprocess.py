"""Climate preprocessing on a few stand-in maps: unpack, convert a split into shards (equal to
the maps read one by one), statistics of the training split only (against NumPy), and the
refusals: missing listed files, a bad map, a scrambled vertex order; nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepsphere.experiments.climate import preprocess
from deepsphere.experiments.climate.maps import MapFileError, VertexOrderError, read_map
from deepsphere.experiments.climate.standin import write_standin
from deepsphere.io.shards import open_store


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("climate")
    write_standin(root / "raw", n_train=6, n_val=2, n_test=2, seed=4)  # seed 4: has TC
    record = preprocess.unpack_maps(root / "raw/climate_sphere_l5.zip", root / "interim",
                                    record=root / "interim/maps.json")
    assert record["n_files"] == 10
    return root


def test_convert_equals_the_maps_read_one_by_one(unpacked, tmp_path):
    summary = preprocess.convert_split(unpacked / "interim/maps.json",
                                       unpacked / "raw/train.txt", tmp_path / "train",
                                       expected=6, samples_per_shard=4, chunk_samples=2)
    assert summary["samples"] == 6 and summary["vertex_order_ratio"] < 0.5
    names = (unpacked / "raw/train.txt").read_text().split()
    maps_dir = unpacked / "interim/data_5_all"
    with open_store(tmp_path / "train") as store:
        assert list(store.names) == names
        x, y = store.read(np.arange(6))
    for i, name in enumerate(names):
        data, labels = read_map(maps_dir / name)
        np.testing.assert_array_equal(x[i], data)
        np.testing.assert_array_equal(y[i], labels)
    stats = preprocess.training_statistics(tmp_path / "train", tmp_path / "statistics.json")
    raw = np.stack([read_map(maps_dir / n)[0] for n in names]).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], raw.mean(axis=(0, 2)), rtol=1e-10)
    np.testing.assert_allclose(stats["std"], raw.std(axis=(0, 2)), rtol=1e-8)
    labels = np.stack([read_map(maps_dir / n)[1] for n in names])
    counts = np.bincount(labels.ravel(), minlength=3)
    assert stats["class_counts"] == counts.tolist() and stats["n_maps"] == 6
    np.testing.assert_allclose(stats["class_weights"], counts.sum() / (3 * counts))
    assert json.loads((tmp_path / "statistics.json").read_text()) == stats


def test_missing_listed_files_are_all_named_before_reading(unpacked, tmp_path):
    listed = tmp_path / "train.txt"
    names = (unpacked / "raw/train.txt").read_text().split()
    extra = ["data-2106-01-01-00-1-mesh.npz", "data-2106-01-01-01-1-mesh.npz"]
    listed.write_text("\n".join(names + extra) + "\n")
    with pytest.raises(FileNotFoundError) as err:
        preprocess.convert_split(unpacked / "interim/maps.json", listed, tmp_path / "store")
    assert all(n in str(err.value) for n in extra) and "2 of the 8" in str(err.value)
    assert not (tmp_path / "store").exists()


def _copy_maps(unpacked, tmp_path, names):
    folder = tmp_path / "data_5_all"
    folder.mkdir()
    for n in names:
        (folder / n).write_bytes((unpacked / "interim/data_5_all" / n).read_bytes())
    record = tmp_path / "maps.json"
    record.write_text(json.dumps({"maps_dir": str(folder)}))
    return folder, record


def test_a_bad_map_stops_the_conversion_naming_it(unpacked, tmp_path):
    names = (unpacked / "raw/train.txt").read_text().split()
    folder, record = _copy_maps(unpacked, tmp_path, names)
    data, labels = read_map(folder / names[-1])
    data[3, 17] = np.nan
    np.savez(folder / names[-1], data=data, labels=np.eye(3, dtype=np.int8)[labels].T)
    with pytest.raises(MapFileError, match=names[-1]):
        preprocess.convert_split(record, unpacked / "raw/train.txt", tmp_path / "store")
    assert not (tmp_path / "store").exists()  # nothing half-written


def test_a_scrambled_vertex_order_is_refused_before_converting(unpacked, tmp_path):
    names = (unpacked / "raw/train.txt").read_text().split()
    folder, record = _copy_maps(unpacked, tmp_path, names)
    perm = np.random.default_rng(0).permutation(10242)
    for n in names:
        data, labels = read_map(folder / n)
        np.savez(folder / n, data=data[:, perm], labels=np.eye(3, dtype=np.int8)[labels[perm]].T)
    with pytest.raises(VertexOrderError):
        preprocess.convert_split(record, unpacked / "raw/train.txt", tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_hand_placed_folder_is_used_in_place(unpacked, tmp_path):
    record = preprocess.unpack_maps(None, tmp_path, record=tmp_path / "maps.json",
                                    manual_maps=unpacked / "interim/data_5_all")
    assert record["maps_dir"] == str((unpacked / "interim/data_5_all").resolve())
    assert not (tmp_path / "data_5_all").exists()  # nothing copied
