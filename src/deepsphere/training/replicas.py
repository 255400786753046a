"""What training on several replicas asks of the data and the model (used by ``loop.fit``).

- :func:`check_even_split`: every batch must split evenly across the replicas, refused before
  any work otherwise.
- :func:`batch_norm_layers`, :func:`set_synchronized`: on TF's MirroredStrategy each replica
  would normalise with its own share's statistics; ``fit`` synchronises BatchNormalization
  during training (the one-device result) and turns it off before saving the model (a saved
  ``synchronized=True`` does not load on JAX).
"""

from __future__ import annotations

import keras

__all__ = ["batch_norm_layers", "check_even_split", "set_synchronized"]


def check_even_split(data, replicas: int, what: str) -> None:
    """Every batch of ``data`` (when it tells its ``batch_size`` and ``n_samples``) must split
    evenly across the replicas: an uneven split is not the one-device run (TF: the loss becomes
    a mean of the replicas' means) or fails (JAX)."""
    size, n = getattr(data, "batch_size", None), getattr(data, "n_samples", None)
    if replicas < 2 or not isinstance(size, int) or not isinstance(n, int):
        return
    last = n % size or size
    bad = [b for b in dict.fromkeys((size, last)) if b % replicas]
    if bad:
        raise ValueError(
            f"training.devices: {replicas} replicas, but the {what} data has batches of {bad[0]} "
            f"samples ({n} samples in batches of {size}), which do not split evenly across them; "
            f"make the batch size and the last batch multiples of {replicas} (training.batch_size, "
            "the number of samples) or use fewer devices"
        )


def batch_norm_layers(model) -> list:
    """Every BatchNormalization layer of ``model``, nested models included."""
    found, stack = [], list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


def set_synchronized(layers, value: bool) -> None:
    """Synchronise (or not) the batch statistics of ``layers`` across replicas (TF)."""
    for layer in layers:
        layer.synchronized = value
