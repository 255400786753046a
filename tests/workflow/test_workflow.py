"""The workflow lints, formats, validates its config and dry-runs offline.

These run the tools of the README's test command: ruff, snakefmt --check,
snakemake --lint and dry runs of the paper and demo configs (no network needed).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deepsphere.workflow.config import ConfigError, validate_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = ROOT / "config" / "schema.yaml"

pytestmark = pytest.mark.workflow


def _run(*args, cwd=ROOT, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def _snakemake(*args, cwd=ROOT):
    return _run(BIN / "snakemake", *args, cwd=cwd)


def test_ruff_is_clean():
    result = _run(BIN / "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean():
    result = _run(BIN / "snakefmt", "--check", "Snakefile", "rules")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean():
    result = _snakemake("--lint", "--configfile", "config/demo.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.parametrize("configfile", [None, "config/demo.yaml"], ids=["paper", "demo"])
def test_dry_run_lists_the_targets_offline(configfile):
    args = ["-n", "--quiet", "rules", "all"]
    if configfile:
        args = ["--configfile", configfile, *args]
    result = _snakemake(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all" in result.stdout


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/demo.yaml"])
def test_shipped_configs_are_valid(configfile):
    validate_config(yaml.safe_load((ROOT / configfile).read_text()), SCHEMA)


def test_bad_config_names_every_key():
    config = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    config["seed"] = -1
    config["targets"] = ["sphere", "no-such-experiment"]
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    message = str(error.value)
    assert "config key 'seed'" in message
    assert "config key 'targets[1]'" in message


def test_bad_config_is_refused_before_any_job(tmp_path):
    """Snakemake stops at parse time with the key in the message, and creates nothing."""
    work = tmp_path / "wf"
    shutil.copytree(
        ROOT, work, ignore=shutil.ignore_patterns(".venv", ".git", "data", "results", ".snakemake")
    )
    config = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    config["seed"] = "forty-two"
    (work / "bad.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake("--cores", "1", "--configfile", "bad.yaml", cwd=work)
    assert result.returncode != 0
    assert "config key 'seed'" in result.stdout + result.stderr
    assert not (work / "data").exists() and not (work / "results").exists()


def test_graph_memory_estimate_counts_the_patch_pixels():
    from deepsphere.workflow.config import estimate_graph_mem_mb

    full = {"sampling": "healpix", "nside": 1024, "nest": True, "indexes": None, "graph": "v1"}
    patch = {**full, "indexes": {"order": 1, "patch": 0}}
    subset = {**full, "indexes": list(range(1000))}
    # 12 * 1024^2 vertices * 8 neighbours * 35 bytes, and one twelfth of it for the patch
    assert estimate_graph_mem_mb(full) == int(12 * 1024**2 * 8 * 35 / 2**20) + 500
    assert estimate_graph_mem_mb(patch) == int(1024**2 * 8 * 35 / 2**20) + 500
    assert estimate_graph_mem_mb(subset) == int(1000 * 8 * 35 / 2**20) + 500


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (
            ("sphere", "equivariance", "resolutions", 0, "nside"),
            48,
            "sphere.equivariance.resolutions[0].nside",
        ),
        (("cosmo", "graphs", "knn8", "k"), -8, "cosmo.graphs.knn8.k"),
        (("cosmo", "graphs", "knn8", "k"), 7, "cosmo.graphs.knn8.k"),
        (("cosmo", "graphs", "knn8", "graph"), "knm", "cosmo.graphs.knn8.graph"),
        (("cosmo", "preprocess", "nside"), 1000, "cosmo.preprocess.nside"),
        (("notebooks", "sphere_to_graph", "knn_k"), 0, "notebooks.sphere_to_graph.knn_k"),
    ],
    ids=[
        "nside-not-power-of-two",
        "negative-k",
        "k-without-width",
        "unknown-graph",
        "cosmo-nside",
        "notebook-k",
    ],
)
def test_bad_values_are_refused_with_their_key(path, value, key):
    config = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=re.escape(f"config key '{key}'")):
        validate_config(config, SCHEMA)
