"""Seeds derived from one config seed: a pure function of ``(seed, *parts)``, Keras-free.

Planning code (which runs while the Snakefile is parsed) and the training loop share this one
rule, so a run's seeds never depend on which process computed them.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derive_seed", "name_seed"]


def derive_seed(seed: int, *parts: int) -> int:
    """A 31-bit seed that is a pure function of ``(seed, *parts)`` (e.g. parts = (epoch,))."""
    return int(np.random.default_rng([int(seed), *map(int, parts)]).integers(0, 2**31 - 1))


def name_seed(seed: int, tag: int, name: str) -> int:
    """A seed for a named thing (a run id): ``derive_seed(seed, tag, crc32(name))``."""
    return derive_seed(seed, tag, zlib.crc32(name.encode()))
