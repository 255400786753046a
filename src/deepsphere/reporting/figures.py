"""Saving figures: one PNG per figure, 150 dpi, written atomically (complete or absent).

Importing this module selects matplotlib's non-interactive ``Agg`` backend (workflow jobs and
tests have no display).
"""

from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deepsphere.io.atomic import atomic_path  # noqa: E402
from deepsphere.runtime import provenance  # noqa: E402

__all__ = ["PNG_KEY", "figure_provenance", "plt", "save_figure"]

PNG_KEY = "deepsphere:provenance"


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """Save ``fig`` to ``path`` (PNG, tight bounding box) atomically and close it.

    The PNG's text chunks hold the provenance (:mod:`deepsphere.runtime.provenance`):
    ``Software`` (deepsphere and its commit) and ``deepsphere:provenance`` (the whole record as
    JSON: config, versions, git commit, hardware); read them with :func:`figure_provenance`.
    """
    rec = provenance.record()
    commit = (rec["git_commit"] or "unknown")[:12] + ("+dirty" if rec["git_dirty"] else "")
    metadata = {"Software": f"deepsphere {rec['versions'].get('deepsphere')} (git {commit})",
                PNG_KEY: json.dumps(rec, sort_keys=True)}
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata=metadata)
    finally:
        plt.close(fig)


def figure_provenance(path: str | os.PathLike) -> dict:
    """The provenance record stored in a PNG written by :func:`save_figure`."""
    from PIL import Image

    with Image.open(path) as image:
        text = image.text.get(PNG_KEY) if hasattr(image, "text") else None
    if text is None:
        raise ValueError(f"{path}: no {PNG_KEY!r} text chunk (not written by save_figure?)")
    return json.loads(text)
