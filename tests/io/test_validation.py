"""deepsphere.io.validation: HDF5 opening, manifests, finiteness and file digests.

References: hashlib over hand-written byte strings, hand-placed NaN positions, real HDF5 files
truncated with os.truncate and zips with a flipped byte.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import h5py
import numpy as np
import pytest

from deepsphere.io.validation import (
    ArrayDigest,
    CorruptFileError,
    array_entry,
    check_file_digests,
    check_manifest,
    file_entry,
    find_nonfinite,
    nonfinite_summary,
    open_hdf5,
    read_manifest,
    write_manifest,
)


def test_array_digest_is_the_sha256_of_the_little_endian_bytes():
    a = np.array([[1, 2], [3, 258]], dtype=np.int16)
    expected = hashlib.sha256(bytes([1, 0, 2, 0, 3, 0, 2, 1])).hexdigest()  # by hand
    assert array_entry(a) == {"shape": [2, 2], "dtype": "int16", "sha256": expected}
    assert ArrayDigest(np.int16).update(a[:1]).update(a[1:]).hexdigest() == expected  # chunked
    big_endian = a.astype(">i2")
    assert ArrayDigest(big_endian.dtype).update(big_endian).hexdigest() == expected
    assert ArrayDigest(np.int16).update(a.T.copy()).hexdigest() != expected  # order matters


def test_find_nonfinite_hand_placed():
    a = np.zeros((3, 5), dtype=np.float32)
    assert find_nonfinite(a) is None and nonfinite_summary(a) is None
    a[1, 2], a[2, 0], a[2, 4] = np.nan, np.inf, np.nan
    assert find_nonfinite(a, chunk=4) == (2, 1, 7)  # flat index of a[1, 2]
    assert nonfinite_summary(a) == "2 NaN and 1 infinite value(s); the first at index 7"
    assert find_nonfinite(np.arange(4)) is None  # integers are always finite


def test_find_nonfinite_on_a_memory_map(tmp_path):
    m = np.ones(1000)
    m[997] = -np.inf
    np.save(tmp_path / "m.npy", m)
    assert find_nonfinite(np.load(tmp_path / "m.npy", mmap_mode="r"), chunk=100) == (0, 1, 997)


def _h5(path, data):
    with h5py.File(path, "w") as f:
        f["x"] = data
        write_manifest(f, {"x": array_entry(data), "n": len(data)})


def test_truncated_hdf5_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "cache.h5"
    _h5(path, np.arange(20000, dtype=np.float64))
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(CorruptFileError, match=rf"{path}: cannot read this HDF5 file.*truncated"
                                                rf".*Fix: delete {path} and rerun") as err:
        with open_hdf5(path) as f:
            f["x"][:]
    assert isinstance(err.value.__cause__, OSError)
    path.write_bytes(b"not an HDF5 file at all")
    with pytest.raises(CorruptFileError, match="Fix: remove it"):
        with open_hdf5(path, fix="remove it"):
            pass
    with pytest.raises(FileNotFoundError, match="missing.h5 does not exist"):
        with open_hdf5(tmp_path / "missing.h5"):
            pass


def test_manifest_round_trip_and_the_differing_field(tmp_path):
    path = tmp_path / "a.h5"
    data = np.arange(6, dtype=np.float32)
    _h5(path, data)
    with open_hdf5(path) as f:
        recorded = read_manifest(f, path)
        actual = {"x": array_entry(f["x"][:]), "n": f["x"].shape[0]}
    check_manifest(path, recorded, actual)  # unchanged: no error
    with h5py.File(path, "r+") as f:
        f["x"][3] = 99.0
    with open_hdf5(path) as f:
        actual = {"x": array_entry(f["x"][:]), "n": np.int64(6)}
    with pytest.raises(CorruptFileError, match=r"1 field\(s\) differ.*\n  x\.sha256: recorded") as err:
        check_manifest(path, recorded, actual)
    assert hashlib.sha256(data.tobytes()).hexdigest() in str(err.value)
    with pytest.raises(CorruptFileError, match=r"n: recorded 6, the file holds 5"):
        check_manifest(path, recorded, {"x": recorded["x"], "n": 5})
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f["x"] = data
    with pytest.raises(CorruptFileError, match="records no manifest"), open_hdf5(tmp_path / "b.h5") as f:
        read_manifest(f, tmp_path / "b.h5")


def test_file_digests_catch_a_flipped_byte(tmp_path):
    zp = tmp_path / "training.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("training/a_0p26.npy", b"0123456789" * 100)
    recorded = {"training.zip": file_entry(zp)}
    assert recorded["training.zip"] == {"size": zp.stat().st_size,
                                        "sha256": hashlib.sha256(zp.read_bytes()).hexdigest()}
    check_file_digests(tmp_path, recorded, fix="regenerate")
    raw = bytearray(zp.read_bytes())
    raw[40] ^= 0xFF
    zp.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match=rf"(?s){zp}: sha256 [0-9a-f]{{64}}, recorded .*Fix: regenerate"):
        check_file_digests(tmp_path, recorded, fix="regenerate")
    zp.write_bytes(bytes(raw[:-10]))
    with pytest.raises(CorruptFileError, match=rf"{zp}: {len(raw) - 10} bytes, recorded {len(raw)}"):
        check_file_digests(tmp_path, recorded, fix="regenerate")
