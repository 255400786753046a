"""The climate networks: icosahedral encoder-decoders with skips (ICLR 2020 appendix, Table 7).

Each architecture is a config ``{"F": [...], "pool": [...]}`` (one width per encoder conv;
``pool`` the levels dropped after it), turned into a ``deepsphere.models`` U-Net config by
:func:`unet_config`: level-5 input (10,242 vertices, 16 channels), the kNN k = 6 heat-kernel
graph with the mean-distance width, the **combinatorial** Laplacian rescaled to [-1, 1] (the
original's icosahedral choice, tf1-spec §1.3), K = 4, BN, the last encoder conv linear, the
decoder unpool -> conv -> concat skip -> conv, a K = 1 output conv to 3 classes. The
architectures of the paper config:

- ``main``: F [32, 64, 128, 256, 512, 512, 512], pool [0, 1, 1, 1, 1, 1, 0] (levels 5, 5, 4,
  3, 2, 1, 0): tf1's ``run_experiment_ico.py``; 12,932,608 parameters (the paper prints
  12,926,432, the notebook's count from before the decoder's concatenation fix: one 48 -> 32,
  K = 4 conv plus its bias fewer, 6,176).
- ``jiang``: the appendix's "Jiang architecture" encoder, GC8 L5, pool, GC16 L4, GC32 L3,
  GC64 L2, GC128 L1, GC128 L0 (F [8, 16, 32, 64, 128, 128], pool [1, 1, 1, 1, 1, 0]), with
  tf1's decoder (one block per encoder conv, also at L0): 547,584 parameters. The appendix
  text's decoder has five blocks (L1 ... L5), about 0.39 M by our reference notes; the
  paper's table says 590 k.
- ``wider``: ``main`` with twice the feature maps.

Deliberate difference: unpooled vertices are filled with ``unpool_fill`` (default 0), the
original padded them with 1.0 (tf1-spec §4.2).
"""

from __future__ import annotations

__all__ = ["N_CHANNELS", "N_CLASSES", "LEVEL", "parameter_count", "unet_config"]

N_CHANNELS, N_CLASSES, LEVEL = 16, 3, 5


def unet_config(architecture: dict, *, K: int = 4, laplacian: str = "combinatorial",
                unpool_fill: float = 0.0, name: str = "climate_unet") -> dict:
    """The ``deepsphere.models`` config of one architecture (``{"F", "pool"}``)."""
    F, pool = [int(f) for f in architecture["F"]], [int(p) for p in architecture["pool"]]
    if len(F) != len(pool):
        raise ValueError(f"architecture F {F} and pool {pool} must have one entry per conv")
    return {
        "sampling": "icosahedral", "level": LEVEL, "in_channels": N_CHANNELS,
        "graph": {"graph": "knn", "k": 6, "t": "mean-distance"},
        "laplacian": {"kind": laplacian, "interval": [-1.0, 1.0], "lmax": "eigsh"},
        "F": F, "K": int(K), "pool": pool, "pool_mode": "avg", "batch_norm": True,
        "head": "unet", "n_classes": N_CLASSES, "unpool_fill": float(unpool_fill), "name": name,
    }


def parameter_count(architecture: dict, *, K: int = 4, in_channels: int = N_CHANNELS,
                    n_classes: int = N_CLASSES) -> int:
    """Trainable parameters of the U-Net in closed form (no Keras): per encoder conv ``i``
    ``K f_in F_i`` (+ ``F_i`` bias unless last); per decoder level ``j`` (deepest first) an
    up-conv ``K f F_j + F_j`` from the current width ``f``, a deconv ``K (F_j + s_j) F_j +
    F_j`` on the concatenation with the skip (``s_j`` the input width of encoder conv ``j``);
    the output conv ``f n_classes`` (K = 1, no bias). BN has no trainable parameters."""
    F = [int(f) for f in architecture["F"]]
    widths = [in_channels] + F[:-1]  # the input width of each encoder conv (= its skip)
    total = sum(K * w * f + (f if i < len(F) - 1 else 0)
                for i, (w, f) in enumerate(zip(widths, F, strict=True)))
    current = F[-1]
    for j in reversed(range(len(F))):
        total += K * current * F[j] + F[j]
        total += K * (F[j] + widths[j]) * F[j] + F[j]
        current = F[j]
    return total + current * n_classes
