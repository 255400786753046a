"""deepsphere.io.shards: round trips against the arrays written in, atomicity, clear errors."""

import json
import pickle

import h5py
import numpy as np
import pytest

from deepsphere.io.shards import COMPRESSIONS, MANIFEST, ShardWriter, open_store

C, V = 3, 11


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, C, V))  # float64: the writer casts to float32
    y = rng.integers(-3, 5, size=(n, V))  # int64: stored as int8
    return x, y, [f"data-{i:03d}-mesh.npz" for i in range(n)]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_round_trip_with_partial_shards_and_chunks(tmp_path, compression):
    n = 45  # shards of 16, 16, 13 samples; chunks of 5: the last of each shard partial
    x, y, names = _data(n)
    with ShardWriter(tmp_path / "store", channels=C, vertices=V, samples_per_shard=16,
                     chunk_samples=5, compression=compression) as writer:
        writer.append_many(x[:7], y[:7], names[:7])  # spans a chunk boundary
        for i in range(7, 30):
            writer.append(x[i], y[i], names[i])
        writer.append_many(x[30:], y[30:], names[30:])  # spans a shard boundary
    x32 = x.astype(np.float32)

    manifest = json.loads((tmp_path / "store" / MANIFEST).read_text())
    assert manifest["shards"] == [{"file": "shard-00000.h5", "samples": 16},
                                  {"file": "shard-00001.h5", "samples": 16},
                                  {"file": "shard-00002.h5", "samples": 13}]
    assert (manifest["n_samples"], manifest["channels"], manifest["vertices"]) == (n, C, V)
    assert manifest["compression"] == compression and manifest["chunk_samples"] == 5
    assert manifest["dtype"] == {"x": "float32", "y": "int8"} and manifest["names"] == names
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [
        MANIFEST, "shard-00000.h5", "shard-00001.h5", "shard-00002.h5"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no staging left
    with h5py.File(tmp_path / "store" / "shard-00002.h5", "r") as f:
        assert f["x"].chunks == (5, C, V) and f["y"].chunks == (5, V)
        assert f["x"].dtype == np.float32 and f["y"].dtype == np.int8

    with open_store(tmp_path / "store") as store:
        assert (store.n_samples, store.channels, store.vertices) == (n, C, V)
        assert store.names == names and store.shard_sizes == [16, 16, 13]
        expected_chunks = [(s, 16 * s + a, 16 * s + min(a + 5, size))
                           for s, size in enumerate([16, 16, 13]) for a in range(0, size, 5)]
        assert store.chunks == expected_chunks
        for k, (_, start, stop) in enumerate(store.chunks):
            xc, yc = store.read_chunk(k)
            np.testing.assert_array_equal(xc, x32[start:stop])
            np.testing.assert_array_equal(yc, y[start:stop])
        idx = np.random.default_rng(1).integers(0, n, 60)  # unsorted, repeats, every shard
        xr, yr = store.read(idx)
        assert xr.dtype == np.float32 and yr.dtype == np.int8
        np.testing.assert_array_equal(xr, x32[idx])
        np.testing.assert_array_equal(yr, y[idx])
        buffers = (np.zeros((50, C, V), np.float32), np.zeros((50, V), np.int8))
        xr, yr = store.read(np.arange(10, 40), out=buffers)  # sorted: straight into out
        np.testing.assert_array_equal(buffers[0][:30], x32[10:40])
        np.testing.assert_array_equal(yr, y[10:40])
        np.testing.assert_array_equal(store.labels(), y)
        assert store.read([])[0].shape == (0, C, V)
        with pytest.raises(IndexError, match="outside"):
            store.read([0, n])
        clone = pickle.loads(pickle.dumps(store))  # reopens its files lazily
        np.testing.assert_array_equal(clone.read([44, 0])[0], x32[[44, 0]])
        clone.close()


def test_an_exception_inside_the_writer_leaves_nothing(tmp_path):
    x, y, names = _data(20)
    with pytest.raises(RuntimeError, match="boom"):
        with ShardWriter(tmp_path / "store", channels=C, vertices=V, samples_per_shard=8,
                         chunk_samples=4) as writer:
            writer.append_many(x, y, names)  # two full shards written already
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    # an old store survives a failed overwrite untouched
    with ShardWriter(tmp_path / "store", channels=C, vertices=V) as writer:
        writer.append_many(x[:3], y[:3], names[:3])
    with pytest.raises(RuntimeError, match="boom"):
        with ShardWriter(tmp_path / "store", channels=C, vertices=V, overwrite=True) as writer:
            writer.append_many(x, y, names)
            raise RuntimeError("boom")
    assert open_store(tmp_path / "store").names == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_an_existing_store_is_refused_unless_overwrite(tmp_path):
    x, y, names = _data(6)
    with ShardWriter(tmp_path / "store", channels=C, vertices=V) as writer:
        writer.append_many(x[:2], y[:2], names[:2])
    with pytest.raises(FileExistsError, match="already holds a shard store.*overwrite=True"):
        ShardWriter(tmp_path / "store", channels=C, vertices=V)
    with ShardWriter(tmp_path / "store", channels=C, vertices=V, overwrite=True) as writer:
        writer.append_many(x[2:], y[2:], names[2:])
    store = open_store(tmp_path / "store")
    assert store.names == names[2:]
    np.testing.assert_array_equal(store.labels(), y[2:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="non-empty folder"):
        ShardWriter(tmp_path / "other", channels=C, vertices=V)
    with pytest.raises(ValueError, match="no sample was appended"):
        with ShardWriter(tmp_path / "empty", channels=C, vertices=V):
            pass
    assert not (tmp_path / "empty").exists()


def _store(path, n=20):
    x, y, names = _data(n)
    with ShardWriter(path, channels=C, vertices=V, samples_per_shard=8, chunk_samples=4) as w:
        w.append_many(x, y, names)
    return path


def test_incomplete_or_damaged_stores_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shard store.*run the conversion"):
        open_store(tmp_path / "absent")
    store = _store(tmp_path / "a")
    (store / MANIFEST).unlink()
    with pytest.raises(FileNotFoundError, match="incomplete.*delete it and rerun"):
        open_store(store)
    store = _store(tmp_path / "b")
    (store / "shard-00001.h5").unlink()
    with pytest.raises(FileNotFoundError, match="shard-00001.h5 is missing.*rerun"):
        open_store(store)
    store = _store(tmp_path / "c")
    manifest = json.loads((store / MANIFEST).read_text())
    manifest["shards"][2]["samples"], manifest["shards"][1]["samples"] = 5, 7  # total kept
    (store / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="shard-00001.h5 holds x.*says 7 samples"):
        open_store(store)
    store = _store(tmp_path / "d")
    (store / "shard-00000.h5").write_bytes(b"not hdf5")
    with pytest.raises(OSError, match="cannot be opened.*rerun the conversion"):
        open_store(store)


def test_bad_samples_are_refused_naming_them(tmp_path):
    x, y, names = _data(3)
    with ShardWriter(tmp_path / "s", channels=C, vertices=V) as writer:
        with pytest.raises(ValueError, match=r"'bad': x must be floating point of shape \(3, 11\)"):
            writer.append(x[0, :2], y[0], "bad")
        with pytest.raises(ValueError, match="'bad': x must be floating point"):
            writer.append(x[0].astype(int), y[0], "bad")
        with pytest.raises(ValueError, match=r"'bad': y must be integer class labels of shape"):
            writer.append(x[0], y[0, :5], "bad")
        with pytest.raises(ValueError, match="'bad': y must be integer"):
            writer.append(x[0], y[0].astype(float), "bad")
        big = y.copy()
        big[1, 4] = 200
        with pytest.raises(ValueError, match=r"'data-001-mesh.npz': labels span \[.*, 200\]"):
            writer.append_many(x, big, names)
        nan = x.copy()
        nan[2, 1, 3] = np.nan
        with pytest.raises(ValueError, match="'data-002-mesh.npz': x has NaN"):
            writer.append_many(nan, y, names)
        with pytest.raises(TypeError, match="names must be str"):
            writer.append(x[0], y[0], 7)
        writer.append_many(x, y, names)  # the refusals wrote nothing
    assert open_store(tmp_path / "s").names == names
    with pytest.raises(ValueError, match="blosc-lz4, lzf, gzip, none"):
        ShardWriter(tmp_path / "t", channels=C, vertices=V, compression="zip")
    with pytest.raises(RuntimeError, match="context manager"):
        ShardWriter(tmp_path / "u", channels=C, vertices=V).append(x[0], y[0], "a")


def test_a_killed_writers_staging_folder_is_removed_by_the_next(tmp_path):
    """A writer killed outright (no __exit__) leaves its hidden staging folder; the next writer
    of the same store removes it (a rerun after a cancelled job does not fill the disk)."""
    stale = tmp_path / ".store.staging-killed"
    (stale / "shard-00000.h5").parent.mkdir()
    (stale / "shard-00000.h5").write_bytes(b"half a shard")
    other = tmp_path / ".other.staging-x"  # another store's: left alone
    other.mkdir()
    x, y, names = _data(3)
    with ShardWriter(tmp_path / "store", channels=C, vertices=V) as writer:
        writer.append_many(x, y, names)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.staging-x", "store"]
