"""Planar 2-D CNN / FCN baselines on square images (Perraudin et al. 2019's ``cnn2d``, ``fcn2d``).

For a HEALPix experiment the input is a NEST patch reshaped to its quad-tree image
(:func:`deepsphere.geometry.patch_images.nest_patch_to_image`), ``(batch, n, n, channels)``.

Config (JSON-able dict)::

    image_size: 1024          # n: the patch has n^2 pixels (nside / order)
    in_channels: 1
    F: [8, 16, 32, 32, 16]    # one strided conv per entry
    kernel_size: 5            # square kernels
    stride: 2                 # every conv of F (the originals' p[i]; no pooling layers)
    head: cnn | fcn           # cnn: flatten + FC(n_classes); fcn: conv(n_classes, stride 1) + GAP
    n_classes: 2

Each conv of ``F`` is ``Conv2D(use_bias=False, "same" padding) -> BN (no scale; its offset is
the bias) -> ReLU``, the originals' conv -> BN -> bias -> ReLU. The last layer is linear (logits).
Trainable parameters (:func:`planar_parameter_count`, closed form):
``sum_i (k^2 F[i-1] F[i] + F[i])`` over the convs (``F[-1] = in_channels``), plus
``cnn``: ``s^2 F[-1] n_classes + n_classes`` with ``s = ceil(n / stride^len(F))``;
``fcn``: ``k^2 F[-1] n_classes + n_classes``.
"""

from __future__ import annotations

import math
import numbers

import keras

__all__ = ["validate_planar_config", "build_planar_model", "planar_parameter_count"]

_DEFAULTS = {"in_channels": 1, "kernel_size": 5, "stride": 2, "n_classes": 2,
             "name": "planar"}


def _positive_int(cfg: dict, key: str) -> int:
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"planar.{key}: got {value!r}; give a positive integer")
    return int(value)


def validate_planar_config(config: dict) -> dict:
    """Defaults filled in; one ``ValueError`` naming the key and the fix on bad input."""
    if not isinstance(config, dict):
        raise ValueError(f"planar config must be a mapping, got {type(config).__name__}")
    allowed = set(_DEFAULTS) | {"image_size", "F", "head"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"planar: unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")
    missing = sorted({"image_size", "F", "head"} - set(config))
    if missing:
        raise ValueError(f"planar: missing key(s) {missing}")
    cfg = {**_DEFAULTS, **config}
    for key in ("image_size", "in_channels", "kernel_size", "stride", "n_classes"):
        cfg[key] = _positive_int(cfg, key)
    F = cfg["F"]
    if not isinstance(F, list | tuple) or not F or not all(
        isinstance(f, numbers.Integral) and not isinstance(f, bool) and f >= 1 for f in F
    ):
        raise ValueError(f"planar.F: got {F!r}; give a non-empty list of positive integers")
    cfg["F"] = [int(f) for f in F]
    if cfg["head"] not in ("cnn", "fcn"):
        raise ValueError(f"planar.head: got {cfg['head']!r}; use cnn or fcn")
    return cfg


def _output_side(cfg: dict) -> int:
    side = cfg["image_size"]
    for _ in cfg["F"]:
        side = math.ceil(side / cfg["stride"])
    return side


def planar_parameter_count(config: dict) -> int:
    """Trainable parameters of :func:`build_planar_model` (closed form, see the module doc)."""
    cfg = validate_planar_config(config)
    k2, fin, total = cfg["kernel_size"] ** 2, cfg["in_channels"], 0
    for f in cfg["F"]:
        total += k2 * fin * f + f
        fin = f
    c = cfg["n_classes"]
    if cfg["head"] == "cnn":
        return total + _output_side(cfg) ** 2 * fin * c + c
    return total + k2 * fin * c + c


def build_planar_model(config: dict) -> keras.Model:
    """Input ``(batch, n, n, in_channels)`` -> logits ``(batch, n_classes)``."""
    cfg = validate_planar_config(config)
    k, n = cfg["kernel_size"], cfg["image_size"]
    inputs = keras.Input(shape=(n, n, cfg["in_channels"]), name="image")
    x = inputs
    for i, f in enumerate(cfg["F"]):
        x = keras.layers.Conv2D(f, k, strides=cfg["stride"], padding="same", use_bias=False,
                                kernel_initializer="glorot_uniform", name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(scale=False, momentum=0.9, epsilon=1e-5,
                                            name=f"conv{i + 1}_bn")(x)
        x = keras.layers.ReLU(name=f"conv{i + 1}_relu")(x)
    if cfg["head"] == "cnn":
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(cfg["n_classes"], name="logits")(x)
    else:
        x = keras.layers.Conv2D(cfg["n_classes"], k, strides=1, padding="same",
                                name="conv_out")(x)
        x = keras.layers.GlobalAveragePooling2D(name="global_avg")(x)
    return keras.Model(inputs, x, name=cfg["name"])
