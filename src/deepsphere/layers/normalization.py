"""Batch normalisation as in DeepSphere, and the separate per-feature bias."""

from __future__ import annotations

import keras

_STYLES = {
    # The TF1 original: tf.layers.batch_normalization(momentum=0.9, epsilon=1e-5,
    # center=False, scale=False); the following Bias plays beta, the conv weights play gamma.
    "original": {"momentum": 0.9, "epsilon": 1e-5, "center": False, "scale": False},
    # Keras defaults.
    "standard": {"momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": True},
}


@keras.saving.register_keras_serializable(package="deepsphere")
class ChebBatchNormalization(keras.layers.BatchNormalization):
    """Batch normalisation over batch and vertices, per feature.

    Shapes: ``(batch, n_vertices, features)`` -> same.

    Args:
        style: ``"original"`` (default: no gamma/beta, momentum 0.9, epsilon 1e-5; follow it
            with :class:`Bias`) or ``"standard"`` (Keras defaults: gamma and beta, momentum
            0.99, epsilon 1e-3). Explicit ``momentum``/``epsilon``/``center``/``scale``
            keywords override the style.
        **kwargs: passed to ``keras.layers.BatchNormalization`` (``axis`` is always -1).
    """

    def __init__(self, style="original", **kwargs):
        if style not in _STYLES:
            raise ValueError(f"style must be 'original' or 'standard', got {style!r}.")
        if kwargs.get("axis", -1) not in (-1, 2):
            raise ValueError("ChebBatchNormalization normalises the feature axis (-1) only.")
        kwargs.pop("axis", None)
        super().__init__(axis=-1, **{**_STYLES[style], **kwargs})
        self.style = style

    def get_config(self):
        return {**super().get_config(), "style": self.style}


@keras.saving.register_keras_serializable(package="deepsphere")
class Bias(keras.layers.Layer):
    """Adds one learned value per feature (initialised to 0, not regularised).

    Shapes: ``(..., features)`` -> same. Weight ``bias`` ``(features,)``.
    """

    def __init__(self, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError("Bias needs a known feature (last) dimension.")
        self.bias = self.add_weight(
            name="bias", shape=(input_shape[-1],), initializer=self.bias_initializer
        )

    def call(self, inputs):
        return inputs + keras.ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        return {**config, "bias_initializer": keras.initializers.serialize(self.bias_initializer)}
