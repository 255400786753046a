"""Batches whose content is a pure function of (seed, epoch, batch index).

This is what makes a resumed run equal to an uninterrupted one: the data order of epoch ``e`` is
``default_rng([seed, e]).permutation(n)`` (not a running RNG), and the fresh training noise of
batch ``i`` of epoch ``e`` is drawn from ``default_rng([seed, 1, e, i])``. The originals' iterator
permuted once with the unseeded global RNG and then cycled over the same order forever, with
batches straddling epochs (tf1-spec §4.2 items 11-12); both are fixed here.

The training engine turns what it is given into batches here (:func:`as_batches`; one epoch
of a generator function: :func:`epoch_batches`; what a checkpoint knows of its data:
:func:`data_signature`) and calls :meth:`ArrayBatches.set_epoch` before every epoch (any
dataset with a ``set_epoch(epoch)`` method gets the same call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np

__all__ = [
    "ArrayBatches",
    "array_digest",
    "as_batches",
    "class_weight_array",
    "data_signature",
    "epoch_batches",
]


def class_weight_array(class_weight, n_classes: int | None = None) -> np.ndarray:
    """A class-weight dict ``{label: w}`` or sequence ``[w0, w1, ...]`` as a float32 ``(C,)`` array.

    Labels missing from a dict get weight 1.
    """
    if isinstance(class_weight, Mapping):
        if any(int(k) < 0 for k in class_weight):
            raise ValueError("class_weight: labels must be non-negative integers")
        size = max(int(k) for k in class_weight) + 1
        size = max(size, n_classes or 0)
        weights = np.ones(size, dtype=np.float32)
        for k, w in class_weight.items():
            weights[int(k)] = float(w)
        return weights
    if isinstance(class_weight, Sequence | np.ndarray):
        return np.asarray(class_weight, dtype=np.float32)
    raise ValueError(
        f"class_weight must be a dict {{label: weight}} or a list of weights, got {class_weight!r}"
    )


def array_digest(a) -> list:
    """``[shape, dtype, BLAKE2b of the bytes]`` of an array: what a checkpoint's fingerprint
    knows of in-memory data, so that a run whose inputs changed (same shapes, other values)
    never resumes the old run's checkpoint (~1 GB/s)."""
    import hashlib

    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(a.reshape(-1).view(np.uint8)))
    return [list(a.shape), str(a.dtype), h.hexdigest()]


class ArrayBatches(keras.utils.PyDataset):
    """Batches of in-memory arrays, reproducible per (seed, epoch), with optional Gaussian noise.

    Args:
        x: inputs, ``(n, vertices, channels)`` (any ``(n, ...)`` works).
        y: targets ``(n, ...)`` or None (inference).
        batch_size: samples per batch; the last batch may be smaller (never padded, never wrapped
            into the next epoch).
        seed: integer seed of the order and the noise.
        shuffle: permute the samples each epoch (order = f(seed, epoch)).
        noise_std: standard deviation of additive N(0, noise_std²) noise, 0 for none.
        fixed_noise: if True the noise of a sample is the same at every epoch (validation/test
            sets: "fixed seeded noise"); requires ``shuffle=False``. If False, fresh noise is drawn
            for every batch of every epoch (training).
        class_weight: dict or list; adds per-entry sample weights ``w[y]`` of the shape of ``y``
            (works for per-vertex labels too, unlike Keras' ``class_weight``).
        mask_missing: regression targets that are NaN are missing: the batch carries weights
            ``w`` of the shape of ``y``, 0 where missing and 1 elsewhere (a masked loss; the
            missing entries of ``y_b`` hold 0, which the zero weight keeps out of the loss).

    ``batch[i]`` returns ``(x_b, y_b)`` or ``(x_b, y_b, w_b)`` (or ``(x_b,)`` without targets).
    """

    def __init__(
        self,
        x,
        y=None,
        *,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        noise_std: float = 0.0,
        fixed_noise: bool = False,
        class_weight=None,
        mask_missing: bool = False,
    ):
        super().__init__()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}: pass matching arrays")
        if fixed_noise and shuffle:
            raise ValueError("fixed_noise=True needs shuffle=False (noise is tied to batch index)")
        if noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        if class_weight is not None and y is None:
            raise ValueError("class_weight needs targets y")
        if mask_missing and (y is None or class_weight is not None):
            raise ValueError("mask_missing needs regression targets y and no class_weight")
        self.mask_missing = bool(mask_missing)
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.noise_std = float(noise_std)
        self.fixed_noise = bool(fixed_noise)
        self.class_weight = None if class_weight is None else class_weight_array(class_weight)
        self.epoch = 0
        self._order = self._make_order(0)

    @property
    def n_samples(self) -> int:
        return len(self.x)

    def signature(self) -> list:
        """What a checkpoint's fingerprint knows of this data: the arrays' shapes and content
        digests (:func:`array_digest`), the order and the options."""
        return [array_digest(self.x), None if self.y is None else array_digest(self.y),
                self.batch_size, self.seed, self.shuffle, self.noise_std, self.fixed_noise,
                None if self.class_weight is None else self.class_weight.tolist(),
                self.mask_missing]

    def _make_order(self, epoch: int) -> np.ndarray:
        n = len(self.x)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def set_epoch(self, epoch: int) -> None:
        """Select the order and noise stream of ``epoch`` (0-based)."""
        self.epoch = int(epoch)
        self._order = self._make_order(self.epoch)

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} out of range [0, {len(self)})")
        idx = self._order[i * self.batch_size : (i + 1) * self.batch_size]
        xb = np.asarray(self.x[idx], dtype=np.float32)
        if self.noise_std > 0:
            key = [self.seed, 2, i] if self.fixed_noise else [self.seed, 1, self.epoch, i]
            rng = np.random.default_rng(key)
            xb = xb + (self.noise_std * rng.standard_normal(xb.shape)).astype(np.float32)
        if self.y is None:
            return (xb,)
        yb = np.asarray(self.y[idx])
        if self.mask_missing:
            present = np.isfinite(yb)
            return xb, np.where(present, yb, 0).astype(yb.dtype), present.astype(np.float32)
        if self.class_weight is None:
            return xb, yb
        labels = yb.astype(np.int64)
        if labels.min() < 0 or labels.max() >= len(self.class_weight):
            raise ValueError(
                f"class_weight has {len(self.class_weight)} entries but labels span "
                f"[{labels.min()}, {labels.max()}]: give a weight for every class"
            )
        return xb, yb, self.class_weight[labels]


def as_batches(data, *, batch_size, seed, shuffle, noise_std, fixed_noise, class_weight):
    """What ``fit`` trains on: ``(x, y)`` arrays become :class:`ArrayBatches`; a
    ``PyDataset``, a generator function ``epoch -> batches`` and None pass through."""
    if data is None or isinstance(data, keras.utils.PyDataset) or callable(data):
        return data  # a callable is a generator function: epoch -> iterable of batches
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayBatches(
            data[0],
            data[1],
            batch_size=batch_size,
            seed=seed,
            shuffle=shuffle,
            noise_std=noise_std,
            fixed_noise=fixed_noise,
            class_weight=class_weight,
        )
    raise ValueError(
        "training/validation data must be a tuple (x, y) of arrays, a keras.utils.PyDataset "
        "(ideally with set_epoch(epoch)) or a function epoch -> iterable of batches, got "
        f"{type(data).__name__}"
    )


def epoch_batches(data, epoch: int):
    """A generator function is called with the epoch: its batches must be f(seed, epoch)."""
    if callable(data) and not isinstance(data, keras.utils.PyDataset):
        return iter(data(epoch))
    return data


def data_signature(train, validation=None) -> object:
    """What the fingerprint of a run knows of its data: the arrays' shapes and content digests,
    or a stream's own ``signature()`` (e.g. ``ShardBatches``: its store's manifest,
    normalisation, class weights, order; and the validation stream's), so that a checkpoint of
    other data (an input file regenerated with the same shapes) is not resumed."""
    if isinstance(train, tuple):
        val = [array_digest(a) for a in validation] if isinstance(validation, tuple) else None
        return [[array_digest(a) for a in train], val]
    if hasattr(train, "signature"):
        return [train.signature(),
                validation.signature() if hasattr(validation, "signature") else None]
    return type(train).__name__
