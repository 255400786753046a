"""What a network is trained to minimise: the loss of its output, plus an optional triplet term.

``training.loss`` names the loss of the model's output (logits for the cross-entropy). With
``training.triplet_loss: {weight: w, margin: m, layer: name}`` the engine trains a second view
of the same model, with two outputs: the logits and the output of layer ``name`` (the SHREC'17
descriptor, the ``global_avg`` layer of our CNNs), and minimises ``loss(logits) + w *
semi_hard_triplet(l2_normalise(descriptor))`` (:func:`deepsphere.training.losses.
descriptor_triplet_loss`; the SHREC'17 original: w = 1, m = 1). Both views share every
variable, so checkpoints, resume and the saved model (the logits-only view) are unchanged; the
labels are handed to both outputs by :class:`RepeatedTargets`.
"""

from __future__ import annotations

import keras

from deepsphere.training.losses import descriptor_triplet_loss

__all__ = ["LOSSES", "RepeatedTargets", "TripletLoss", "compile_for_training", "repeat_targets"]

LOSSES = {
    "sparse_categorical_crossentropy": lambda: keras.losses.SparseCategoricalCrossentropy(
        from_logits=True
    ),
    "mse": lambda: keras.losses.MeanSquaredError(),
    "mae": lambda: keras.losses.MeanAbsoluteError(),
}


class TripletLoss(keras.losses.Loss):
    """The semi-hard triplet loss of integer labels ``(batch,)`` and a descriptor ``(batch,
    features)`` or ``(batch, vertices, features)``, L2-normalised first."""

    def __init__(self, margin: float = 1.0, name: str = "triplet", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        return descriptor_triplet_loss(y_true, y_pred, margin=self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


class RepeatedTargets(keras.utils.PyDataset):
    """A dataset whose batches ``(x, y[, w])`` become ``(x, (y, y)[, (w, w)])``: the labels
    for both outputs of the triplet view. Forwards ``set_epoch`` (reproducible order)."""

    def __init__(self, data: keras.utils.PyDataset):
        super().__init__()
        self.data = data

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        batch = self.data[i]
        if len(batch) == 2:
            return batch[0], (batch[1], batch[1])
        return batch[0], (batch[1], batch[1]), (batch[2], batch[2])


def repeat_targets(data):
    """:class:`RepeatedTargets` of a dataset, or a generator function's batches repeated."""
    if data is None:
        return None
    if isinstance(data, keras.utils.PyDataset):
        return RepeatedTargets(data)
    if callable(data):
        def epoch_batches(epoch):
            for batch in data(epoch):
                yield (batch[0], (batch[1], batch[1]), *[(w, w) for w in batch[2:]])
        return epoch_batches
    raise ValueError(f"training.triplet_loss: cannot pair the targets of {type(data).__name__}")


def compile_for_training(model: keras.Model, training: dict, optimizer) -> keras.Model:
    """Compile and return the model that ``fit`` trains: ``model`` itself, or (with
    ``training.triplet_loss``) its two-output view; the caller pairs the targets with
    :func:`repeat_targets` when the view is not ``model``."""
    triplet = training.get("triplet_loss")
    if not triplet:
        model.compile(optimizer=optimizer, loss=LOSSES[training["loss"]](),
                      metrics=list(training["metrics"]))
        return model
    names = [layer.name for layer in model.layers]
    if triplet["layer"] not in names:
        raise ValueError(f"training.triplet_loss.layer: the model has no layer "
                         f"{triplet['layer']!r}; use one of {names}")
    descriptor = model.get_layer(triplet["layer"]).output
    view = keras.Model(model.inputs, [model.outputs[0], descriptor], name=f"{model.name}_triplet")
    view.compile(optimizer=optimizer,
                 loss=[LOSSES[training["loss"]](), TripletLoss(triplet["margin"])],
                 loss_weights=[1.0, float(triplet["weight"])],
                 metrics=[list(training["metrics"]), []])
    return view
