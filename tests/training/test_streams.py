"""deepsphere.training.streams.ShardBatches against dense NumPy references of the data written.

Channel 0 of vertex 0 of sample i holds i, so every batch tells which samples it holds. The key
tests also run on JAX (in a subprocess: the backend is fixed at import).
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import deepsphere
from deepsphere.io.shards import ShardWriter, open_store
from deepsphere.training.loop import fit, load_checkpoint
from deepsphere.training.streams import ShardBatches

N, C, V, K = 70, 3, 9, 3  # samples, channels, vertices, classes
PER_SHARD, CHUNK = 24, 5  # shards of 24, 24, 22; chunks of 5 (the last of each shard partial)


def _source(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(N, C, V)).astype(np.float32)
    x[:, 0, 0] = np.arange(N)  # the sample's id
    y = rng.integers(0, K, size=(N, V))
    return x, y


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    x, y = _source()
    path = tmp_path_factory.mktemp("streams") / "store"
    with ShardWriter(path, channels=C, vertices=V, samples_per_shard=PER_SHARD,
                     chunk_samples=CHUNK) as writer:
        writer.append_many(x, y, [f"map-{i}" for i in range(N)])
    return path


MEAN = np.array([1.5, -0.5, 2.0], np.float32)
STD = np.array([2.0, 3.0, 0.5], np.float32)
WEIGHTS = np.array([0.2, 1.0, 5.0], np.float32)


def _epoch(ds):
    """Every batch of the current epoch: ids of the samples, x, y, w (concatenated)."""
    batches = [ds[i] for i in range(len(ds))]
    x = np.concatenate([b[0] for b in batches])
    ids = np.rint(x[:, 0, 0] * STD[0] + MEAN[0]).astype(int)
    return ids, batches


def _chunk_of():
    """Global sample -> chunk index, from the layout (shards of PER_SHARD, chunks of CHUNK)."""
    shard, within = np.divmod(np.arange(N), PER_SHARD)
    per_shard = -(-PER_SHARD // CHUNK)
    return shard * per_shard + within // CHUNK, shard


def test_each_epoch_holds_every_sample_once_normalised_and_weighted(store_path):
    x, y = _source()
    ds = ShardBatches(store_path, batch_size=8, seed=4, mean=MEAN, std=STD,
                      class_weight=WEIGHTS, window=3)
    assert len(ds) == 9 and ds.n_samples == N  # 70 = 8 x 8 + 6
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        ids, batches = _epoch(ds)
        assert sorted(ids) == list(range(N))
        assert [len(b[0]) for b in batches] == [8] * 8 + [6]  # last smaller, no wrap-around
        np.testing.assert_array_equal(ids, ds.order())
        xb = np.concatenate([b[0] for b in batches])
        yb = np.concatenate([b[1] for b in batches])
        wb = np.concatenate([b[2] for b in batches])
        assert xb.dtype == np.float32 and yb.dtype == np.int32 and wb.dtype == np.float32
        assert xb.shape == (N, V, C) and yb.shape == wb.shape == (N, V)
        reference = ((x[ids] - MEAN[:, None]) / STD[:, None]).transpose(0, 2, 1)
        np.testing.assert_allclose(xb, reference, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(yb, y[ids])
        np.testing.assert_array_equal(wb, WEIGHTS[y[ids]])


def test_the_order_is_a_function_of_seed_and_epoch_and_mixes_shards(store_path):
    def ids(seed, epoch, **kw):
        ds = ShardBatches(store_path, batch_size=8, seed=seed, mean=MEAN, std=STD, window=3,
                          **kw)
        ds.set_epoch(epoch)
        return _epoch(ds)[0]

    fresh = ShardBatches(store_path, batch_size=8, seed=4, mean=MEAN, std=STD, window=3)
    for epoch in range(3):  # epochs read before do not change epoch 2's order
        fresh.set_epoch(epoch)
        _epoch(fresh)
    np.testing.assert_array_equal(_epoch(fresh)[0], ids(4, 2))
    np.testing.assert_array_equal(ids(4, 2, prefetch=False), ids(4, 2))
    assert not np.array_equal(ids(4, 2), ids(4, 3))
    assert not np.array_equal(ids(4, 2), ids(5, 2))

    # windows: consecutive runs of the order made of `window` whole chunks
    order = ids(4, 1)
    chunk, shard = _chunk_of()
    sizes = np.bincount(chunk)
    p, left = 0, len(sizes)
    while p < N:
        need, seen, length = min(3, left), set(), 0
        while len(seen) < need or length < sizes[list(seen)].sum():
            seen.add(chunk[order[p + length]])
            length += 1
            assert len(seen) <= need, f"window at {p} mixes more than {need} chunks"
        p, left = p + length, left - need
    assert left == 0
    # the chunks are shuffled across shards: batches with samples of several shards
    mixed = [len(set(shard[order[i:i + 8]])) > 1 for i in range(0, N, 8)]
    assert sum(mixed) >= 3, mixed


def test_random_access_equals_sequential_access(store_path, caplog):
    ds = ShardBatches(store_path, batch_size=7, seed=1, mean=MEAN, std=STD,
                      class_weight=WEIGHTS, window=2)
    ds.set_epoch(5)
    sequential = [ds[i] for i in range(len(ds))]
    other = ShardBatches(store_path, batch_size=7, seed=1, mean=MEAN, std=STD,
                         class_weight=WEIGHTS, window=2)
    other.set_epoch(5)
    with caplog.at_level("WARNING"):
        for i in [9, 0, 4, 4, 3, 1, 8, 2, 7, 6, 5]:
            for got, want in zip(other[i], sequential[i], strict=True):
                np.testing.assert_array_equal(got, want)
    assert caplog.text.count("decoded twice") == 1  # slow, correct, said once
    with pytest.raises(IndexError):
        ds[len(ds)]
    ds.close()
    np.testing.assert_array_equal(ds[3][0], sequential[3][0])  # reopens what it needs


def test_a_failed_decode_is_raised_and_retried(store_path, monkeypatch):
    store = open_store(store_path)
    ds = ShardBatches(store, batch_size=8, seed=2, window=2)
    read_chunk, calls = store.read_chunk, []

    def flaky(index, *, out=None):
        calls.append(index)
        if len(calls) == 1:
            raise OSError("damaged chunk")
        return read_chunk(index, out=out)

    monkeypatch.setattr(store, "read_chunk", flaky)
    with pytest.raises(OSError, match="damaged chunk"):
        ds[0]
    expected = ShardBatches(store_path, batch_size=8, seed=2, window=2)[0]
    for got, want in zip(ds[0], expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_unshuffled_stream_is_the_store_order(store_path):
    x, y = _source()
    ds = ShardBatches(open_store(store_path), batch_size=16, shuffle=False)
    ds.set_epoch(3)
    batches = [ds[i] for i in range(len(ds))]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]),
                                  x.transpose(0, 2, 1))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    np.testing.assert_array_equal(ds.labels(), y)
    np.testing.assert_array_equal(ds.first_batch(), x[:16].transpose(0, 2, 1))
    with pytest.raises(ValueError, match="shuffle=False"):
        ShardBatches(store_path, batch_size=16).labels()


def test_bad_arguments_and_labels_without_weights_are_refused(store_path):
    with pytest.raises(ValueError, match="both mean and std"):
        ShardBatches(store_path, batch_size=4, mean=MEAN)
    with pytest.raises(ValueError, match="std must be > 0"):
        ShardBatches(store_path, batch_size=4, mean=MEAN, std=[1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"mean must be 3 finite per-channel values"):
        ShardBatches(store_path, batch_size=4, mean=[0.0, 1.0], std=[1.0, 1.0])
    with pytest.raises(ValueError, match="batch_size"):
        ShardBatches(store_path, batch_size=0)
    with pytest.raises(ValueError, match="window"):
        ShardBatches(store_path, batch_size=4, window=0)
    ds = ShardBatches(store_path, batch_size=70, class_weight=[1.0, 2.0])  # 3 classes in y
    with pytest.raises(ValueError, match="class_weight has 2 entries.*every class"):
        ds[0]


def _model():
    return keras.Sequential([keras.Input((V, C)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(K)])  # one Dense per vertex: logits (B, V, K)


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_fit_resume_after_kill_and_predict(store_path, tmp_path, kill_at):
    """fit with a ShardBatches train set; a run killed in epoch 2 resumes to the same weights."""
    cfg = {"seed": 3, "training": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01,
                                   "keep": "last"}}

    def data():
        train = ShardBatches(store_path, batch_size=16, seed=3, mean=MEAN, std=STD,
                             class_weight=WEIGHTS, window=2)
        return train, ShardBatches(store_path, batch_size=32, shuffle=False, mean=MEAN, std=STD)

    ref = fit(cfg, *data(), out_dir=tmp_path / "a", model=_model, verbose=0)
    assert [row["epoch"] for row in ref.history] == [1, 2]
    assert np.isfinite(ref.history[-1]["loss"]) and "val_loss" in ref.history[-1]
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, *data(), out_dir=tmp_path / "b", model=_model, verbose=0,
            callbacks=[kill_at(epoch=1, batch=1)])
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.npz")[0]["epoch"] == 1
    resumed = fit(cfg, *data(), out_dir=tmp_path / "b", model=_model, verbose=0)
    assert resumed.resumed_from_epoch == 1
    for w1, w2 in zip(_weights(ref.model), _weights(resumed.model), strict=True):
        np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)

    x, _ = _source()
    test = ShardBatches(store_path, batch_size=32, shuffle=False, mean=MEAN, std=STD)
    predicted = ref.model.predict(test, verbose=0)
    dense = ((x - MEAN[:, None]) / STD[:, None]).transpose(0, 2, 1)
    expected = keras.ops.convert_to_numpy(ref.model(dense))
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)


def test_a_checkpoint_of_other_data_is_not_resumed(store_path, tmp_path):
    """A run directory whose checkpoint was trained on another store (or another
    normalisation) starts over: a stream's signature is part of the run's fingerprint."""
    x, y = _source(seed=5)
    other = tmp_path / "other"
    with ShardWriter(other, channels=C, vertices=V, samples_per_shard=PER_SHARD,
                     chunk_samples=CHUNK) as writer:
        writer.append_many(x[:40], y[:40], [f"map-{i}" for i in range(40)])
    cfg = {"seed": 3, "training": {"epochs": 1, "batch_size": 16, "keep": "last"}}

    def run(path, mean=MEAN):
        val = ShardBatches(path, batch_size=16, shuffle=False, mean=mean, std=STD)
        train = ShardBatches(path, batch_size=16, seed=3, mean=mean, std=STD)
        return fit(cfg, train, val, out_dir=tmp_path / "run", model=_model, verbose=0)

    run(store_path)
    assert run(store_path).resumed_from_epoch == 1  # same data: the finished run is resumed
    assert run(other).resumed_from_epoch == 0  # other data: trained again
    assert run(other, mean=MEAN + 1).resumed_from_epoch == 0  # other normalisation


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this is the JAX re-run itself")
def test_stream_tests_pass_on_jax():
    env = dict(os.environ, KERAS_BACKEND="jax")
    src = str(Path(deepsphere.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-W", "ignore::DeprecationWarning", __file__, "-k", "not on_jax"],
                         capture_output=True, text=True, env=env, timeout=400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "passed" in out.stdout and "skipped" not in out.stdout, out.stdout[-3000:]
