"""Semi-hard triplet loss (the SHREC'17 original's ``extra_loss``), backend-agnostic Keras.

The original (tf1-spec §1.9) adds ``tf.contrib.losses.metric_learning.triplet_semihard_loss(
labels, l2_normalize(descriptor, -1))`` (margin 1.0) to the cross-entropy. That definition, kept
here (FaceNet's semi-hard mining, Schroff et al. 2015, as TF contrib/addons compute it):

- distances: **squared** Euclidean, ``d_ij = |e_i - e_j|^2`` (contrib's
  ``pairwise_distance(squared=True)``), clipped at 0, zero diagonal;
- every anchor-positive pair ``(a, p)``, ``a != p``, same label;
- its negative: the one closest to the anchor among those **farther** than the positive
  (``d_an > d_ap``, semi-hard); if there is none, the farthest negative of the anchor;
- loss = ``sum_{(a,p)} max(d_ap - d_an + margin, 0) / #pairs``; 0 if there are no pairs (the
  original replaced that NaN by 0).
- An anchor without any negative (all the batch shares its label) gets ``d_an = 0``, as in
  contrib's masked maximum over an empty set (the row minimum, the zero self-distance): its
  pairs cost ``margin + d_ap``.

:func:`descriptor_triplet_loss` is the SHREC'17 extra loss: the original handed a rank-3
(batch, vertices, features) descriptor to a loss that expects rank 2 (tf1-spec §4.2 item 9);
here the descriptor is global-averaged over vertices first (our model's ``global_avg`` layer
output is already that), then L2-normalised.
"""

from __future__ import annotations

from keras import backend, ops

__all__ = ["pairwise_squared_distances", "semi_hard_triplet_loss", "descriptor_triplet_loss"]


def pairwise_squared_distances(embeddings):
    """``(n, d) -> (n, n)`` squared Euclidean distances, clipped at 0, exact zero diagonal."""
    e = ops.convert_to_tensor(embeddings)
    sq = ops.sum(ops.square(e), axis=-1)
    d = sq[:, None] + sq[None, :] - 2.0 * ops.matmul(e, ops.transpose(e))
    d = ops.maximum(d, 0.0)
    n = ops.shape(e)[0]
    return d * (1.0 - ops.eye(n, dtype=d.dtype))


def _masked_min(data, mask, axis):
    """Min of ``data`` over ``axis`` where ``mask`` (0/1); finite arithmetic (as contrib)."""
    top = ops.max(data, axis=axis, keepdims=True)
    return ops.min((data - top) * mask, axis=axis, keepdims=True) + top


def _masked_max(data, mask, axis):
    """Max of ``data`` over ``axis`` where ``mask``; the row minimum if the mask is empty."""
    bottom = ops.min(data, axis=axis, keepdims=True)
    return ops.max((data - bottom) * mask, axis=axis, keepdims=True) + bottom


def semi_hard_triplet_loss(labels, embeddings, margin=1.0):
    """Semi-hard triplet loss (definition in the module docstring).

    Args:
        labels: ``(n,)`` or ``(n, 1)`` integer class labels.
        embeddings: ``(n, d)`` float embeddings (L2-normalise them first for the original's
            loss, or use :func:`descriptor_triplet_loss`).
        margin: the margin (the original: 1.0, contrib's default).

    Returns:
        A scalar tensor of the embeddings' dtype; differentiable in the embeddings.
    """
    e = ops.convert_to_tensor(embeddings)
    if backend.standardize_dtype(e.dtype) not in ("float32", "float64"):
        e = ops.cast(e, "float32")
    dtype = backend.standardize_dtype(e.dtype)
    y = ops.reshape(ops.convert_to_tensor(labels), (-1,))
    n = ops.shape(e)[0]
    d = pairwise_squared_distances(e)  # (n, n), d[a, k]
    same = ops.cast(ops.equal(y[:, None], y[None, :]), dtype)
    negative = 1.0 - same  # (a, k)
    positive = same * (1.0 - ops.eye(n, dtype=dtype))  # (a, p), a != p
    d_ap = d[:, :, None]  # (a, p, 1)
    d_an = ops.broadcast_to(d[:, None, :], (n, n, n))  # (a, p, k)
    semi = negative[:, None, :] * ops.cast(ops.greater(d_an, d_ap), dtype)  # (a, p, k)
    outside = _masked_min(d_an, semi, axis=2)[:, :, 0]  # (a, p)
    inside = _masked_max(d, negative, axis=1)  # (a, 1): the anchor's farthest negative
    has_semi = ops.greater(ops.sum(semi, axis=2), 0.0)  # (a, p)
    d_neg = ops.where(has_semi, outside, ops.broadcast_to(inside, (n, n)))
    losses = ops.maximum(margin + d - d_neg, 0.0) * positive
    pairs = ops.sum(positive)
    return ops.sum(losses) / ops.maximum(pairs, 1.0)


def descriptor_triplet_loss(labels, descriptor, margin=1.0, epsilon=1e-12):
    """The SHREC'17 extra loss: semi-hard triplet loss on the L2-normalised descriptor.

    ``descriptor``: ``(n, features)`` (the ``global_avg`` output) or ``(n, vertices,
    features)`` (the last conv block's output; averaged over vertices here).
    """
    x = ops.convert_to_tensor(descriptor)
    if len(x.shape) == 3:
        x = ops.mean(x, axis=1)
    elif len(x.shape) != 2:
        raise ValueError(f"descriptor must be rank 2 or 3, got shape {tuple(x.shape)}")
    norm = ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), epsilon))
    return semi_hard_triplet_loss(labels, x / norm, margin)
