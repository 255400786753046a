"""deepsphere.training.losses: semi-hard triplet loss against a dense NumPy loop.

Definition (TF contrib's ``triplet_semihard_loss``, which the SHREC'17 original used): squared
Euclidean distances; for each anchor-positive pair the closest negative farther than the
positive, else the anchor's farthest negative; mean over pairs of max(d_ap - d_an + margin, 0).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepsphere.training.losses import (
    descriptor_triplet_loss,
    pairwise_squared_distances,
    semi_hard_triplet_loss,
)

ROOT = Path(__file__).resolve().parents[3]


def reference_loss(labels, emb, margin):
    """Straightforward loops over anchors, positives and negatives (float64)."""
    labels = np.asarray(labels).reshape(-1)
    emb = np.asarray(emb, dtype=np.float64)
    n = len(labels)
    d = np.array([[np.sum((emb[i] - emb[j]) ** 2) for j in range(n)] for i in range(n)])
    losses = []
    for a in range(n):
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            if not negatives:
                d_an = 0.0  # contrib's masked maximum over an empty set (the zero self-distance)
            else:
                semi = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
                d_an = min(semi) if semi else max(d[a, k] for k in negatives)
            losses.append(max(d[a, p] - d_an + margin, 0.0))
    return float(np.mean(losses)) if losses else 0.0


def _loss(labels, emb, margin):
    return float(keras.ops.convert_to_numpy(semi_hard_triplet_loss(
        np.asarray(labels), np.asarray(emb, np.float32), margin)))


def test_hand_computed_line_batches():
    # 1-D points 0, 1 | 2, 3 (labels 0, 0 | 1, 1): every pair has the semi-hard negative at
    # squared distance 4 from its anchor, d_ap = 1 -> loss max(1 - 4 + m, 0)
    labels, emb = [0, 0, 1, 1], [[0.0], [1.0], [2.0], [3.0]]
    assert _loss(labels, emb, 1.0) == pytest.approx(0.0)
    assert _loss(labels, emb, 5.0) == pytest.approx(2.0)
    assert reference_loss(labels, emb, 5.0) == pytest.approx(2.0)


def test_no_semi_hard_negative_uses_the_farthest_negative():
    # anchor 0 / positive 2 (d_ap = 4); the only negative sits in between (d_an = 1 < 4):
    # no semi-hard negative, the farthest negative is used: loss = 4 - 1 + 1 = 4 (both pairs)
    labels, emb = [0, 0, 1], [[0.0], [2.0], [1.0]]
    assert reference_loss(labels, emb, 1.0) == pytest.approx(4.0)
    assert _loss(labels, emb, 1.0) == pytest.approx(4.0)
    # two negatives inside, margin 0.5: pairs (0, 1) and (1, 0) (d_ap = 4) take the farthest
    # negative (d = 1.69): 4 - 1.69 + 0.5 = 2.81; pairs (2, 3) and (3, 2) (d_ap = 0.36) have a
    # semi-hard negative at 0.49: 0.36 - 0.49 + 0.5 = 0.37; mean (2 * 2.81 + 2 * 0.37) / 4
    labels, emb = [0, 0, 1, 1], [[0.0], [2.0], [0.7], [1.3]]
    expected = (2 * 2.81 + 2 * 0.37) / 4
    assert reference_loss(labels, emb, 0.5) == pytest.approx(expected)
    assert _loss(labels, emb, 0.5) == pytest.approx(expected, rel=1e-5)


def test_ties_are_not_semi_hard():
    # the negative at exactly d_ap is not "farther than the positive": the other one (farther)
    labels, emb = [0, 0, 1, 1], [[0.0], [1.0], [-1.0], [2.0]]
    # anchor 0: d_ap = 1, negatives at 1 (tie) and 4 -> semi-hard 4 -> max(1 - 4 + 1, 0) = 0
    # anchor 1: d_ap = 1, negatives at 4 and 1 (tie) -> 4 -> 0
    # anchor 2 (label 1), positive 3: d_ap = 9, negatives at 1 and 4 -> none farther -> 4 -> 6
    # anchor 3, positive 2: d_ap = 9, negatives at 4 and 1 -> 4 -> 6; mean (0 + 0 + 6 + 6) / 4
    assert reference_loss(labels, emb, 1.0) == pytest.approx(3.0)
    assert _loss(labels, emb, 1.0) == pytest.approx(3.0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_random_batches_match_the_reference(seed, margin):
    rng = np.random.default_rng(seed)
    n, dim = 16, 5
    labels = rng.integers(0, 4, n)
    emb = rng.normal(size=(n, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)  # the original's L2-normalised descriptor
    got = _loss(labels.reshape(-1, 1) if seed % 2 else labels, emb, margin)
    assert got == pytest.approx(reference_loss(labels, emb, margin), rel=1e-5, abs=1e-6)


def test_degenerate_batches():
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(5, 3))
    # all labels distinct: no anchor-positive pair -> 0 (the original replaced the NaN by 0)
    assert _loss(np.arange(5), emb, 1.0) == 0.0
    # one class: no negative, d_an = 0 as in contrib -> mean(margin + d_ap)
    single = _loss(np.zeros(5, int), emb, 1.0)
    assert single == pytest.approx(reference_loss(np.zeros(5, int), emb, 1.0), rel=1e-5)
    d = keras.ops.convert_to_numpy(pairwise_squared_distances(emb.astype(np.float32)))
    assert single == pytest.approx(1.0 + d.sum() / 20, rel=1e-5)
    assert np.all(np.diag(d) == 0) and np.all(d >= 0)


def test_gradient_is_finite():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(10, 4)).astype(np.float32)
    emb[1] = emb[0]  # a zero distance between an anchor and its positive
    emb[5] = emb[4]  # and between two negatives of each other
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0])
    x = tf.Variable(emb)
    with tf.GradientTape() as tape:
        loss = semi_hard_triplet_loss(labels, x, 1.0)
    g = tape.gradient(loss, x).numpy()
    assert np.isfinite(float(loss)) and np.all(np.isfinite(g)) and np.any(g != 0)
    # the SHREC'17 extra loss on a rank-3 descriptor, one row exactly zero (norm clamp)
    desc = rng.normal(size=(10, 12, 8)).astype(np.float32)
    desc[2] = 0.0
    x = tf.Variable(desc)
    with tf.GradientTape() as tape:
        loss = descriptor_triplet_loss(labels, x)
    g = tape.gradient(loss, x).numpy()
    assert np.isfinite(float(loss)) and np.all(np.isfinite(g)) and np.any(g != 0)


def test_descriptor_loss_is_the_loss_of_the_normalised_average():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 12)
    desc = rng.normal(size=(12, 12, 8)) + 0.5
    mean = desc.mean(axis=1)
    normed = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    expected = reference_loss(labels, normed, 1.0)
    for x in (desc, mean):
        got = float(keras.ops.convert_to_numpy(descriptor_triplet_loss(labels, x.astype(np.float32))))
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)
    with pytest.raises(ValueError, match="rank 2 or 3"):
        descriptor_triplet_loss(labels, np.zeros(12, np.float32))


_JAX_SCRIPT = """
import json, sys
import numpy as np
import jax, keras
from deepsphere.training.losses import semi_hard_triplet_loss
assert keras.backend.backend() == "jax"
out = []
for seed in range(3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 16)
    emb = rng.normal(size=(16, 5)).astype(np.float32)
    f = lambda e: semi_hard_triplet_loss(labels, e, 1.0)
    value, grad = jax.jit(jax.value_and_grad(f))(emb)
    out.append([labels.tolist(), emb.tolist(), float(value), bool(np.isfinite(grad).all())])
print(json.dumps(out))
"""


def test_jax_backend_matches_the_reference():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _JAX_SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for labels, emb, value, finite in json.loads(proc.stdout.strip().splitlines()[-1]):
        assert finite
        assert value == pytest.approx(reference_loss(labels, emb, 1.0), rel=1e-5, abs=1e-6)
