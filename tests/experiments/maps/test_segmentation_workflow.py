"""Per-pixel segmentation of a user's maps through the workflow: a CSV whose target column
names each map's label map, read in each file's own ordering; the U-Net learns a rule that is
known by construction (a pixel is ``positive`` where the map is above zero)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import healpy as hp
import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.workflow]
NSIDE, N_MAPS = 4, 24
CONFIG = """seed: 3
maps:
  folder: maps
  table: maps.csv
  task: segmentation
  target: labels
  classes: [negative, positive]
  network: {depth: 1, filters: 8}
  training: {epochs: 15, batch_size: 4, learning_rate: 0.01}
"""


def write_user_files(folder: Path) -> None:
    """N_MAPS maps (half RING, half NEST) and their label maps (RING), and the table."""
    (folder / "maps").mkdir(parents=True)
    rng = np.random.default_rng(3)
    rows = []
    for i in range(N_MAPS):
        ring = rng.normal(size=hp.nside2npix(NSIDE))
        nest = i % 2 == 1
        hp.write_map(folder / "maps" / f"m{i}.fits",
                     hp.reorder(ring, r2n=True) if nest else ring, nest=nest, dtype=np.float32)
        hp.write_map(folder / "maps" / f"m{i}_labels.fits", (ring > 0).astype(np.float32),
                     nest=False, dtype=np.float32)
        rows.append({"file": f"m{i}.fits", "labels": f"m{i}_labels.fits"})
    pd.DataFrame(rows).to_csv(folder / "maps.csv", index=False)


def test_segmentation_learns_the_per_pixel_rule(workflow_copy):
    write_user_files(workflow_copy)
    (workflow_copy / "mine.yaml").write_text(CONFIG)
    out = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--cores", "2",
                          "--configfile", "mine.yaml"], cwd=workflow_copy, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-5000:]
    root = workflow_copy / "results/maps"
    metrics = pd.read_csv(root / "tables/metrics.csv")
    # every test pixel is scored: 192 pixels of each test map
    assert metrics.n_test.iloc[0] > 0
    assert metrics.accuracy.iloc[0] >= 0.9, metrics.to_string()
    checks = pd.read_csv(root / "tables/checks.csv")
    assert checks.set_index("name").loc["ALL", "passed"], checks.to_string()
