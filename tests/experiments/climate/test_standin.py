"""The climate stand-in: real on-disk format, split lists, labels, determinism, atomicity."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile

import numpy as np
import pytest

from deepsphere.experiments.climate import standin
from deepsphere.experiments.climate.maps import (
    CHANNELS,
    N_VERTICES,
    check_vertex_order,
    read_map,
)
from deepsphere.experiments.climate.standin import (
    map_names,
    standin_map,
    verify_standin,
    write_standin,
)
from deepsphere.geometry.sampling import icosahedral_sampling
from deepsphere.io.validation import CorruptFileError

NAME = re.compile(r"data-\d{4}-\d{2}-\d{2}-\d{2}-\d-mesh\.npz")
COUNTS = {"train": 6, "val": 3, "test": 3}
OUTPUTS = ("climate_sphere_l5.zip", "train.txt", "val.txt", "test.txt", "standin.json")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    record = write_standin(raw, n_train=6, n_val=3, n_test=3, seed=11)
    return raw, record


@pytest.fixture(scope="module")
def extracted(written, tmp_path_factory):
    raw, _ = written
    dest = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(raw / "climate_sphere_l5.zip") as zf:
        assert zf.testzip() is None
        zf.extractall(dest)
    return dest / "data_5_all"


def _lists(raw):
    out = {}
    for split in COUNTS:
        text = (raw / f"{split}.txt").read_text()
        assert text.endswith("\n") and "\n\n" not in text
        out[split] = text.splitlines()
    return out


def test_lists_real_naming_sizes_and_no_overlap(written):
    raw, record = written
    lists = _lists(raw)
    assert {s: len(v) for s, v in lists.items()} == COUNTS == record["counts"]
    names = [n for v in lists.values() for n in v]
    assert all(NAME.fullmatch(n) for n in names), names
    assert len(set(names)) == len(names)
    for n in names:
        year, month, day, hour, run = (int(x) for x in n.split("-")[1:6])
        assert 2106 <= year <= 2114 and 1 <= month <= 12 and 1 <= day <= 31
        assert 0 <= hour <= 7 and 1 <= run <= 6  # HH: the 3-hourly step, as the real lists


def test_archive_holds_every_listed_map_and_read_map_reads_them(written, extracted):
    raw, record = written
    lists = _lists(raw)
    with zipfile.ZipFile(raw / "climate_sphere_l5.zip") as zf:
        members = set(zf.namelist())
    assert members == {f"data_5_all/{n}" for v in lists.values() for n in v}
    counts = {s: np.zeros(3, np.int64) for s in COUNTS}
    for split, names in lists.items():
        for n in names:
            with np.load(extracted / n) as npz:
                assert npz["data"].dtype == np.float32 and npz["data"].shape == (16, N_VERTICES)
                assert npz["labels"].dtype == np.int8 and npz["labels"].shape == (3, N_VERTICES)
            data, labels = read_map(extracted / n)
            counts[split] += np.bincount(labels.ravel(), minlength=3)
    for split in COUNTS:
        np.testing.assert_allclose(list(record["class_fractions"][split].values()),
                                   counts[split] / counts[split].sum(), rtol=1e-12)
    assert check_vertex_order(sorted(extracted.iterdir())[:3]) < 0.2


def test_record_and_verify(written):
    raw, record = written
    on_disk = json.loads((raw / "standin.json").read_text())
    assert {k: v for k, v in record.items() if k != "paths"} == on_disk
    assert on_disk["seed"] == 11
    assert set(on_disk["files"]) == set(OUTPUTS) - {"standin.json"}
    for name, entry in on_disk["files"].items():
        assert entry["sha256"] == _sha(raw / name)
    assert verify_standin(raw)["seed"] == 11
    assert sorted(record["paths"]) == sorted(OUTPUTS)


def test_verify_detects_a_changed_list(tmp_path):
    write_standin(tmp_path, n_train=1, n_val=1, n_test=1, seed=0)
    with (tmp_path / "val.txt").open("a") as fh:
        fh.write("data-2106-01-01-00-1-mesh.npz\n")
    with pytest.raises(CorruptFileError, match="val.txt"):
        verify_standin(tmp_path)


@pytest.fixture(scope="module")
def sample():
    """48 stand-in maps: data (48, 16, V), labels (48, V)."""
    maps = [standin_map(n, 2) for n in map_names(48, 1, 1, seed=2)["train"]]
    return np.stack([m[0] for m in maps]), np.stack([m[1] for m in maps])


def test_class_fractions_near_the_real_ones(sample):
    counts = np.bincount(sample[1].ravel(), minlength=3)
    fractions = counts / counts.sum()
    assert 0.0003 < fractions[1] < 0.003, fractions  # real: 0.1 %
    assert 0.01 < fractions[2] < 0.04, fractions  # real: 2.2 %


def test_events_carry_their_physical_signatures(sample):
    data, labels = sample
    lat = np.rad2deg(icosahedral_sampling(5).lat)
    tropical_bg = (labels == 0) & ((np.abs(lat) > 8) & (np.abs(lat) < 30))[None]

    def mean(channel, where):
        return data[:, CHANNELS.index(channel)][where].mean()

    assert mean("PSL", labels == 1) < mean("PSL", tropical_bg) - 1000  # cyclones: lows (Pa)
    assert mean("PRECT", labels == 1) > 3 * mean("PRECT", labels == 0)  # and rain
    assert mean("TMQ", labels == 2) > mean("TMQ", labels == 0) + 15  # rivers: moist (kg m^-2)
    assert np.all(np.isfinite(data))
    assert data[:, CHANNELS.index("PRECT")].min() >= 0 and data[:, 0].min() >= 0


def test_byte_identical_on_rerun_and_seed_matters(written, tmp_path):
    raw, _ = written
    again = tmp_path / "again"
    write_standin(again, n_train=6, n_val=3, n_test=3, seed=11)
    for name in OUTPUTS:
        assert _sha(raw / name) == _sha(again / name), name
    other = tmp_path / "other"
    write_standin(other, n_train=6, n_val=3, n_test=3, seed=12)
    assert _sha(raw / "climate_sphere_l5.zip") != _sha(other / "climate_sphere_l5.zip")


def test_maps_do_not_depend_on_the_counts(tmp_path):
    """Two stand-ins with the same seed and other val/test counts share their training maps,
    byte for byte in their archives."""
    import zipfile

    assert map_names(5, 2, 2, seed=1)["train"] == map_names(5, 4, 1, seed=1)["train"]
    write_standin(tmp_path / "a", n_train=2, n_val=1, n_test=1, seed=1)
    write_standin(tmp_path / "b", n_train=2, n_val=3, n_test=2, seed=1)
    names = (tmp_path / "a/train.txt").read_text().split()
    assert names == (tmp_path / "b/train.txt").read_text().split()
    with (zipfile.ZipFile(tmp_path / "a/climate_sphere_l5.zip") as za,
          zipfile.ZipFile(tmp_path / "b/climate_sphere_l5.zip") as zb):
        for name in names:
            assert za.read(f"data_5_all/{name}") == zb.read(f"data_5_all/{name}")


def test_refuses_existing_outputs_unless_overwrite(tmp_path):
    write_standin(tmp_path, n_train=1, n_val=1, n_test=1, seed=0)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_standin(tmp_path, n_train=1, n_val=1, n_test=1, seed=0)
    record = write_standin(tmp_path, n_train=2, n_val=1, n_test=1, seed=0, overwrite=True)
    assert len((tmp_path / "train.txt").read_text().splitlines()) == 2 == record["counts"]["train"]


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="n_val"):
        write_standin(tmp_path, n_train=1, n_val=0, n_test=1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        write_standin(tmp_path, n_train=1, n_val=1, n_test=1, seed=-1)
    with pytest.raises(ValueError, match="distinct"):
        map_names(10**6, 1, 1, seed=0)


def test_nothing_left_behind_on_failure(tmp_path, monkeypatch):
    real = standin.standin_map
    calls = []

    def failing(name, seed, params=None):
        calls.append(name)
        if len(calls) == 4:
            raise RuntimeError("disk full (simulated)")
        return real(name, seed, params)

    monkeypatch.setattr(standin, "standin_map", failing)
    raw = tmp_path / "raw"
    with pytest.raises(RuntimeError, match="simulated"):
        write_standin(raw, n_train=4, n_val=1, n_test=1, seed=0)
    assert list(raw.iterdir()) == []


def test_standin_map_refuses_other_names():
    with pytest.raises(ValueError, match="data-YYYY-MM-DD-HH-R-mesh.npz"):
        standin_map("map-001.npz", 0)
