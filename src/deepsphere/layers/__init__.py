"""Keras 3 layers for graph-based spherical CNNs. Inputs are ``(batch, vertices, features)``."""

from deepsphere.layers import sparse_ops
from deepsphere.layers.chebconv import ChebConv, original_initializer, resolve_laplacian
from deepsphere.layers.normalization import Bias, ChebBatchNormalization
from deepsphere.layers.pooling import (
    EquiangularPooling,
    EquiangularUnpooling,
    GlobalVertexPooling,
    HealpixPooling,
    HealpixUnpooling,
    IcosahedralPooling,
    IcosahedralUnpooling,
    icosahedral_vertices,
)
from deepsphere.layers.subset_pooling import HealpixSubsetPooling, HealpixSubsetUnpooling

__all__ = [
    "Bias",
    "ChebBatchNormalization",
    "ChebConv",
    "EquiangularPooling",
    "EquiangularUnpooling",
    "GlobalVertexPooling",
    "HealpixPooling",
    "HealpixSubsetPooling",
    "HealpixSubsetUnpooling",
    "HealpixUnpooling",
    "IcosahedralPooling",
    "IcosahedralUnpooling",
    "icosahedral_vertices",
    "original_initializer",
    "resolve_laplacian",
    "sparse_ops",
]
