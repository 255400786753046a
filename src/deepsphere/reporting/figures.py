"""Saving figures: one PNG per figure, 150 dpi, written atomically (complete or absent).

Importing this module selects matplotlib's non-interactive ``Agg`` backend (workflow jobs and
tests have no display).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deepsphere.io.atomic import atomic_path  # noqa: E402

__all__ = ["plt", "save_figure"]


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """Save ``fig`` to ``path`` (PNG, tight bounding box) atomically and close it."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
