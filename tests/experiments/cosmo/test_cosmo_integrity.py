"""Cosmo data integrity: NaN maps, damaged or edited patch caches, damaged stand-in archives.

Each test reproduces what a user met: a testing map with NaN pixels, a cache truncated by an
interrupted copy, an attribute or a value edited by hand, a zip with a flipped byte. References
are hand-placed values (the NaN's file, map index and pixel), hashlib over the files' bytes and
the fields that were edited.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import h5py
import numpy as np
import pytest

from deepsphere.experiments.cosmo import preprocess as prep
from deepsphere.experiments.cosmo.sources import list_maps
from deepsphere.experiments.cosmo.standin import verify_standin_archives, write_standin_dataset
from deepsphere.io.validation import CorruptFileError, NonFiniteError, array_entry

KW = dict(nside=4, order=1, sigma_arcmin=0, progress=False)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    dest = tmp_path_factory.mktemp("standin")
    write_standin_dataset(dest, nside=8, n_train_per_class=2, n_test_per_class=1, seed=1,
                          make_zips=True, progress=False)
    return dest


def _cache(standin, tmp_path, split="training"):
    return prep.build_patch_cache(list_maps(standin / split), tmp_path / f"{split}.h5",
                                  split=split, **KW)


def test_a_nan_pixel_in_a_testing_map_stops_the_cache_before_writing(standin, tmp_path):
    testing = tmp_path / "testing"
    testing.mkdir()
    for p, _ in list_maps(standin / "testing"):
        (testing / p.name).write_bytes(p.read_bytes())
    maps = list_maps(testing)
    bad = maps[1][0]  # the 0p31 map: map index 1 in the cache
    m = np.load(bad)
    m[[17, 40]] = np.nan
    np.save(bad, m)
    out = tmp_path / "patches" / "testing_o1.h5"
    with pytest.raises(NonFiniteError, match=re.escape(
            f"{bad} (map index 1): 2 NaN and 0 infinite value(s); the first at index 17")) as err:
        prep.build_patch_cache(maps, out, split="testing", **KW)
    assert "1 of 2 input maps" in str(err.value) and str(maps[0][0]) not in str(err.value)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []  # nothing written


def test_an_infinite_pixel_is_refused_too(tmp_path):
    np.save(tmp_path / "a_0p26.npy", np.zeros(12 * 16))
    np.save(tmp_path / "b_0p31.npy", np.r_[np.zeros(12 * 16 - 1), -np.inf])
    with pytest.raises(NonFiniteError, match=r"b_0p31.npy \(map index 1\): 0 NaN and 1 infinite"):
        prep.build_patch_cache(list_maps(tmp_path), tmp_path / "c.h5", split="training", **KW)
    assert not (tmp_path / "c.h5").exists()


def test_the_cache_records_what_was_written(standin, tmp_path):
    path = _cache(standin, tmp_path)
    with h5py.File(path) as f:
        manifest = json.loads(f.attrs["manifest"])
        x = f["x"][:]
    assert manifest["n_maps"] == 4 and manifest["n_patches"] == 4 * 12
    assert manifest["datasets"]["x"] == {"shape": [48, 16], "dtype": "float32",
                                         "sha256": hashlib.sha256(x.tobytes()).hexdigest()}
    assert manifest["datasets"]["y"]["shape"] == [48] and manifest["attrs"]["order"] == 1
    ps = prep.load_patch_cache(path)
    np.testing.assert_array_equal(ps.x, x)


@pytest.mark.parametrize("reader", [prep.load_patch_cache, prep.compute_normalisation])
def test_a_truncated_cache_names_the_file_and_the_fix(standin, tmp_path, reader):
    path = _cache(standin, tmp_path)
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(CorruptFileError, match=re.escape(str(path)) + ".*truncated or corrupt"
                       + ".*Fix: delete " + re.escape(str(path)) + " and rerun"):
        reader(path)


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


@pytest.mark.parametrize("edit,field", [
    (lambda f: f.attrs.modify("order", 2), "attrs.order: recorded 1, the file holds 2"),
    (lambda f: f["x"].__setitem__((3, 5), 1.0), "datasets.x.sha256: recorded"),
    (lambda f: f["y"].__setitem__(0, 1), "datasets.y.sha256: recorded"),
    (lambda f: f.attrs.modify("manifest", f.attrs["manifest"].replace('"n_maps": 4', '"n_maps": 5')),
     "n_maps: recorded 5, the file holds 4"),
])
@pytest.mark.parametrize("reader", [prep.load_patch_cache, prep.compute_normalisation])
def test_an_edited_cache_is_refused_naming_the_field(standin, tmp_path, edit, field, reader):
    path = _cache(standin, tmp_path)
    _edit(path, edit)
    with pytest.raises(CorruptFileError, match=re.escape(field)) as err:
        reader(path)
    assert str(path) in str(err.value) and "delete" in str(err.value)


def test_a_cache_without_manifest_is_refused(standin, tmp_path):
    path = _cache(standin, tmp_path)
    _edit(path, lambda f: f.attrs.__delitem__("manifest"))
    with pytest.raises(CorruptFileError, match="records no manifest.*Fix: delete"):
        prep.load_patch_cache(path)


def test_normalisation_names_nan_not_zero_variance(standin, tmp_path):
    """A cache holding a NaN that matches its manifest (as a writer without the map check made)."""
    path = _cache(standin, tmp_path)

    def put_nan(f):
        f["x"][30, 2] = np.nan  # row 30 = map index 2 (12 patches per map), patch 6
        manifest = json.loads(f.attrs["manifest"])
        manifest["datasets"]["x"] = array_entry(f["x"][:])
        f.attrs["manifest"] = json.dumps(manifest)

    _edit(path, put_nan)
    name = list_maps(standin / "training")[2][0].name
    expected = f"patch row 30 (map index 2, {name}, patch 6) holds NaN"
    with pytest.raises(NonFiniteError, match=re.escape(expected)):
        prep.compute_normalisation(path)
    with pytest.raises(NonFiniteError, match=re.escape(expected)):
        prep.load_patch_cache(path)


def test_a_truncated_normalisation_file_names_itself(standin, tmp_path):
    path = prep.save_normalisation(tmp_path / "norm.json",
                                   prep.compute_normalisation(_cache(standin, tmp_path)))
    os.truncate(path, 10)
    with pytest.raises(CorruptFileError, match=re.escape(str(path)) + " is not valid JSON.*delete"):
        prep.load_normalisation(path)


# --------------------------------------------------------------------------- stand-in archives
def test_standin_json_records_the_archive_checksums(standin):
    params = json.loads((standin / "standin.json").read_text())
    for name in ("training.zip", "testing.zip"):
        data = (standin / name).read_bytes()
        assert params["archives"][name] == {"size": len(data),
                                            "sha256": hashlib.sha256(data).hexdigest()}
    assert verify_standin_archives(standin)["seed"] == 1


def test_a_flipped_byte_in_a_standin_zip_is_caught(standin, tmp_path):
    dest = tmp_path / "data" / "raw" / "cosmo" / "standin"
    dest.mkdir(parents=True)
    for name in ("standin.json", "training.zip", "testing.zip"):
        (dest / name).write_bytes((standin / name).read_bytes())
    raw = bytearray((dest / "testing.zip").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (dest / "testing.zip").write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match=r"(?s)1 file\(s\) differ.*testing\.zip: sha256.*"
                       + re.escape(f"Fix: delete {dest} and rerun")):
        verify_standin_archives(dest)
    params = json.loads((dest / "standin.json").read_text())
    del params["archives"]
    (dest / "standin.json").write_text(json.dumps(params))
    with pytest.raises(CorruptFileError, match=r"records no file checksums \('archives'"):
        verify_standin_archives(dest)
