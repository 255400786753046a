"""Pooling and unpooling on spherical samplings, and global pooling over vertices.

All layers take ``(batch, n_vertices, features)``.

- HEALPix (NEST ordering): the ``factor = 4**p`` children of a coarse pixel are consecutive
  indices, so pooling is a 1-D max/average over windows of ``factor`` vertices and unpooling
  repeats each value ``factor`` times (nearest neighbour).
- Icosahedral: the vertices of level ``l - 1`` come first, so pooling keeps the first
  ``10 * 4**level_out + 2`` vertices and unpooling pads the new vertices with ``fill_value``.
  The original padded with 1.0; here the default is 0.0 so that unpooled vertices carry no
  signal (a following Chebyshev convolution then interpolates them from their neighbours);
  pass ``fill_value=1.0`` to reproduce the original.
- Equiangular: the ``(2b, 2b * aspect)`` grid is row-major with colatitude rows outer; pooling is
  2-D over ``sqrt(factor) x sqrt(factor)`` blocks, unpooling repeats along both grid axes.
"""

from __future__ import annotations

import math

import keras

_MODES = ("max", "avg")


def _check_mode(mode):
    if mode not in _MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}.")
    return mode


def _check_power_of_4(factor, what):
    if not isinstance(factor, int) or factor < 1 or 4 ** round(math.log(factor, 4)) != factor:
        raise ValueError(
            f"{what} factor must be a power of 4 (4**p, e.g. 4 to halve nside), got {factor!r}."
        )
    return factor


def _reduce(x, mode, axis):
    return keras.ops.max(x, axis=axis) if mode == "max" else keras.ops.mean(x, axis=axis)


class _VertexLayer(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)


@keras.saving.register_keras_serializable(package="deepsphere")
class HealpixPooling(_VertexLayer):
    """HEALPix NEST pooling: ``(batch, n, f) -> (batch, n // factor, f)``.

    Args:
        factor: ``4**p`` (4 halves nside).
        mode: ``"max"`` or ``"avg"`` over the ``factor`` children of each coarse pixel.
    """

    def __init__(self, factor, mode="max", **kwargs):
        super().__init__(**kwargs)
        self.factor = _check_power_of_4(factor, "HealpixPooling")
        self.mode = _check_mode(mode)

    def build(self, input_shape):
        n = input_shape[1]
        if n is not None and n % self.factor:
            raise ValueError(
                f"HealpixPooling: {n} vertices are not divisible by factor {self.factor}; the "
                "input must be a NEST map made of whole coarse pixels."
            )

    def call(self, inputs):
        shape = keras.ops.shape(inputs)
        x = keras.ops.reshape(inputs, (shape[0], shape[1] // self.factor, self.factor, shape[2]))
        return _reduce(x, self.mode, axis=2)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n // self.factor, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "mode": self.mode}


@keras.saving.register_keras_serializable(package="deepsphere")
class HealpixUnpooling(_VertexLayer):
    """HEALPix NEST unpooling by repetition: ``(batch, n, f) -> (batch, n * factor, f)``."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = _check_power_of_4(factor, "HealpixUnpooling")

    def call(self, inputs):
        return keras.ops.repeat(inputs, self.factor, axis=1)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.factor, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def icosahedral_vertices(level):
    """Number of vertices of the level-``level`` icosphere: ``10 * 4**level + 2``."""
    return 10 * 4**level + 2


def _check_level(level, what):
    if not isinstance(level, int) or level < 0:
        raise ValueError(f"{what} level_out must be an integer >= 0, got {level!r}.")
    return level


def _icosahedral_level(n):
    level = round(math.log((n - 2) / 10, 4)) if n and n > 2 else -1
    return level if level >= 0 and icosahedral_vertices(level) == n else None


@keras.saving.register_keras_serializable(package="deepsphere")
class IcosahedralPooling(_VertexLayer):
    """Keeps the first ``10 * 4**level_out + 2`` vertices (the coarser icosphere's).

    ``(batch, 10 * 4**l + 2, f) -> (batch, 10 * 4**level_out + 2, f)`` for any ``l > level_out``.
    """

    def __init__(self, level_out, **kwargs):
        super().__init__(**kwargs)
        self.level_out = _check_level(level_out, "IcosahedralPooling")

    def build(self, input_shape):
        n = input_shape[1]
        level = None if n is None else _icosahedral_level(n)
        if n is not None and (level is None or level <= self.level_out):
            raise ValueError(
                f"IcosahedralPooling(level_out={self.level_out}) needs 10*4**l+2 vertices with "
                f"l > {self.level_out}, got {n}; check the sampling level of the input."
            )

    def call(self, inputs):
        return inputs[:, : icosahedral_vertices(self.level_out), :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], icosahedral_vertices(self.level_out), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "level_out": self.level_out}


@keras.saving.register_keras_serializable(package="deepsphere")
class IcosahedralUnpooling(_VertexLayer):
    """Pads to ``10 * 4**level_out + 2`` vertices with ``fill_value`` (default 0.0).

    ``(batch, 10 * 4**l + 2, f) -> (batch, 10 * 4**level_out + 2, f)`` for ``l < level_out``.
    The original DeepSphere padded with 1.0 (``fill_value=1.0``).
    """

    def __init__(self, level_out, fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.level_out = _check_level(level_out, "IcosahedralUnpooling")
        self.fill_value = float(fill_value)

    def build(self, input_shape):
        n = input_shape[1]
        level = None if n is None else _icosahedral_level(n)
        if n is not None and (level is None or level >= self.level_out):
            raise ValueError(
                f"IcosahedralUnpooling(level_out={self.level_out}) needs 10*4**l+2 vertices with "
                f"l < {self.level_out}, got {n}; check the sampling level of the input."
            )

    def call(self, inputs):
        n = inputs.shape[1]
        pad = icosahedral_vertices(self.level_out) - n
        return keras.ops.pad(inputs, ((0, 0), (0, pad), (0, 0)), constant_values=self.fill_value)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], icosahedral_vertices(self.level_out), input_shape[2])

    def get_config(self):
        config = super().get_config()
        return {**config, "level_out": self.level_out, "fill_value": self.fill_value}


def _check_square(factor, what):
    root = math.isqrt(factor) if isinstance(factor, int) and factor >= 1 else 0
    if root < 1 or root * root != factor:
        raise ValueError(
            f"{what} factor is the vertex-count ratio and must be a perfect square "
            f"(4 -> 2x2 blocks, 16 -> 4x4), got {factor!r}."
        )
    return root


def _grid(n, aspect, what):
    """(rows, cols) of an equiangular grid with n vertices and cols = aspect * rows."""
    rows = math.isqrt(round(n / aspect)) if n else 0
    if rows < 1 or rows * round(rows * aspect) != n:
        raise ValueError(
            f"{what}: {n} vertices do not form an equiangular (2b, 2b*{aspect}) grid; "
            "pass the right aspect (columns / rows)."
        )
    return rows, round(rows * aspect)


@keras.saving.register_keras_serializable(package="deepsphere")
class EquiangularPooling(_VertexLayer):
    """2-D pooling on the equiangular grid, colatitude rows outer.

    ``(batch, R * C, f) -> (batch, (R / s) * (C / s), f)`` with ``s = sqrt(factor)``, where
    ``R = 2b`` and ``C = aspect * R``.

    Args:
        factor: vertex-count ratio, a perfect square (4 -> 2x2 blocks, halves the bandwidth).
        mode: ``"max"`` or ``"avg"``.
        aspect: columns / rows of the grid (1 for the usual ``2b x 2b``).
    """

    def __init__(self, factor, mode="max", aspect=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.step = _check_square(factor, "EquiangularPooling")
        self.mode = _check_mode(mode)
        self.aspect = float(aspect)

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError("EquiangularPooling needs a known number of vertices.")
        rows, cols = _grid(input_shape[1], self.aspect, "EquiangularPooling")
        if rows % self.step or cols % self.step:
            raise ValueError(
                f"EquiangularPooling: grid {rows}x{cols} is not divisible into "
                f"{self.step}x{self.step} blocks; use a smaller factor."
            )
        self._grid = (rows, cols)

    def call(self, inputs):
        rows, cols = _grid(inputs.shape[1], self.aspect, "EquiangularPooling")
        s, f = self.step, inputs.shape[2]
        x = keras.ops.reshape(inputs, (-1, rows // s, s, cols // s, s, f))
        x = _reduce(_reduce(x, self.mode, axis=4), self.mode, axis=2)
        return keras.ops.reshape(x, (-1, (rows // s) * (cols // s), f))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n // self.factor, input_shape[2])

    def get_config(self):
        config = super().get_config()
        return {**config, "factor": self.factor, "mode": self.mode, "aspect": self.aspect}


@keras.saving.register_keras_serializable(package="deepsphere")
class EquiangularUnpooling(_VertexLayer):
    """Repeats each grid value ``sqrt(factor)`` times along both axes.

    ``(batch, R * C, f) -> (batch, (R * s) * (C * s), f)`` with ``s = sqrt(factor)``.
    """

    def __init__(self, factor, aspect=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.step = _check_square(factor, "EquiangularUnpooling")
        self.aspect = float(aspect)

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError("EquiangularUnpooling needs a known number of vertices.")
        _grid(input_shape[1], self.aspect, "EquiangularUnpooling")

    def call(self, inputs):
        rows, cols = _grid(inputs.shape[1], self.aspect, "EquiangularUnpooling")
        s, f = self.step, inputs.shape[2]
        x = keras.ops.reshape(inputs, (-1, rows, cols, f))
        x = keras.ops.repeat(keras.ops.repeat(x, s, axis=1), s, axis=2)
        return keras.ops.reshape(x, (-1, rows * s * cols * s, f))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.factor, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "aspect": self.aspect}


@keras.saving.register_keras_serializable(package="deepsphere")
class GlobalVertexPooling(_VertexLayer):
    """Average or max over vertices: ``(batch, n, f) -> (batch, f)``."""

    def __init__(self, mode="avg", **kwargs):
        super().__init__(**kwargs)
        self.mode = _check_mode(mode)

    def call(self, inputs):
        return _reduce(inputs, self.mode, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
