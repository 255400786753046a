"""The sphere study end to end on its CI config (config/test/sphere-ci.yaml), in a copy."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from deepsphere.experiments.sphere.rules import SpherePaths


@pytest.mark.ci_config("sphere")
@pytest.mark.slow
@pytest.mark.workflow
def test_sphere_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("sphere")
    assert out.returncode == 0, out.stderr[-5000:]
    config = yaml.safe_load((tmp_path / "config/test/sphere-ci.yaml").read_text())
    paths = SpherePaths({"results": "results-ci"}, config["sphere"])
    for target in paths.targets():
        assert (tmp_path / target).stat().st_size > 0, target
    assert not (tmp_path / "results").exists() and not (tmp_path / "data/interim").exists()
    eq = pd.read_csv(tmp_path / paths.tables / "equivariance_error.csv")
    ours = eq.dropna(subset=["error_ours"])
    assert set(ours["graph"]) == {"v1", "knn8"} and set(ours["nside"]) == {32}
    assert ours["error_paper"].notna().any()  # the paper's Fig. 2 numbers sit beside ours
    kw = pd.read_csv(tmp_path / paths.tables / "kernel_widths.csv")
    assert kw.dropna(subset=["sigma_ours"])[["nside", "k"]].values.tolist() == [[32, 8]]
    assert len(kw) > 1  # every paper row, ours empty where not searched
    checks = pd.read_csv(tmp_path / paths.tables / "acceptance.csv")
    assert checks["name"].iloc[-1] == "ALL" and len(checks) > 3
