"""NEST patches as square images: the quad-tree (Z-order) layout of a HEALPix patch.

A NEST patch of ``n^2`` pixels (a base pixel or one of its ``4^k`` children) is an ``n x n``
image with pixels adjacent on the sphere adjacent in the image: what a planar (2-D CNN)
baseline needs.
"""

from __future__ import annotations

import numpy as np

from deepsphere.geometry.sampling import check_nside

__all__ = ["image_to_nest_patch", "nest_patch_to_image", "quadtree_index"]


def _spread_bits(v: np.ndarray, n_bits: int) -> np.ndarray:
    """Put bit ``b`` of ``v`` at bit ``2 b`` (for bit interleaving)."""
    out = np.zeros_like(v)
    for b in range(n_bits):
        out |= ((v >> b) & 1) << (2 * b)
    return out


def quadtree_index(n: int) -> np.ndarray:
    """``(n, n)`` int64: ``index[row, col]`` = position inside a NEST patch of ``n^2`` pixels.

    Inside a NEST patch (a HEALPix base pixel or one of its ``4^k`` quad-tree children) the pixel
    of in-face coordinates ``(x, y)`` sits at ``interleave(x, y)``: bit ``b`` of ``x`` goes to bit
    ``2 b`` and bit ``b`` of ``y`` to bit ``2 b + 1`` (the Z-order curve; healpy's ``xyf2pix``).
    The image puts ``y`` on rows and ``x`` on columns, so pixels adjacent on the sphere are
    adjacent in the image. (The original's ``utils.build_index`` did not exist.)
    """
    n = check_nside(n)  # a power of 2
    n_bits = n.bit_length() - 1
    v = np.arange(n, dtype=np.int64)
    return _spread_bits(v, n_bits)[None, :] | (_spread_bits(v, n_bits)[:, None] << 1)


def nest_patch_to_image(patches: np.ndarray) -> np.ndarray:
    """NEST patches ``(..., n^2)`` -> images ``(..., n, n)`` (see :func:`quadtree_index`)."""
    patches = np.asarray(patches)
    n = int(round(np.sqrt(patches.shape[-1])))
    if n * n != patches.shape[-1] or n & (n - 1):
        raise ValueError(
            f"A NEST patch has (power of 2)^2 pixels; got {patches.shape[-1]} on the last axis."
        )
    return patches[..., quadtree_index(n)]


def image_to_nest_patch(images: np.ndarray) -> np.ndarray:
    """Inverse of :func:`nest_patch_to_image`: ``(..., n, n)`` -> ``(..., n^2)``."""
    images = np.asarray(images)
    n = images.shape[-1]
    if images.shape[-2] != n:
        raise ValueError(f"Images must be square; got shape {images.shape}.")
    out = np.empty(images.shape[:-2] + (n * n,), dtype=images.dtype)
    out[..., quadtree_index(n)] = images
    return out
