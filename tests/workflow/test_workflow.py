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
SCHEMA = ROOT / "config" / "schema"

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
    config["sphere"]["equivariance"]["n_signals"] = 0
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    message = str(error.value)
    assert "config key 'seed'" in message
    assert "config key 'sphere.equivariance.n_signals'" in message
    assert "'no-such-experiment' has no section in this config" in message


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
    from deepsphere.workflow.resources import graph_mem_mb as estimate_graph_mem_mb

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


# --------------------------------------------------------------------------- plug-ins
def _demo():
    return yaml.safe_load((ROOT / "config/demo.yaml").read_text())


@pytest.mark.parametrize("keep", ["sphere", "cosmo", "notebooks"])
def test_an_absent_experiment_is_simply_not_run(workflow_copy, keep):
    """A config with one section: no KeyError for the others, and none of their jobs. In a
    workflow copy (a fresh checkout's view: no results yet, so every job is listed)."""
    demo = _demo()
    config = {"seed": demo["seed"], keep: demo[keep]}
    (workflow_copy / "one.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake("-n", "--quiet", "rules", "--configfile", "one.yaml", cwd=workflow_copy)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    rules = set(re.findall(r"^([a-z_0-9]+)\s+\d+$", result.stdout, re.M))
    others = {"sphere", "cosmo", "notebook"} - {keep.rstrip("s")}
    assert not {r for r in rules if r.split("_")[0] in others}, rules
    assert any(r.startswith(keep.rstrip("s")) for r in rules), rules


def test_ci_configs_hold_only_their_own_section():
    common = {"seed", "results", "interim", "raw", "targets"}
    for path in sorted((ROOT / "config/test").glob("*-ci.yaml")):
        config = yaml.safe_load(path.read_text())
        name = path.stem.removesuffix("-ci")
        assert set(config) - common == {name}, f"{path.name}: {sorted(set(config) - common)}"
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("name", ["cosmo", "sphere"])
def test_a_ci_config_never_writes_the_committed_results(name):
    dag = _snakemake("--configfile", f"config/test/{name}-ci.yaml", "--forceall", "--summary",
                     "--cores", "2")
    outputs = [line.split("\t")[0] for line in dag.stdout.splitlines()[1:] if line.strip()]
    assert outputs, dag.stdout[-2000:] + dag.stderr[-2000:]
    shared = ("results/", "data/interim/", "data/raw/", "data/manual/")
    assert all(not o.startswith(shared) for o in outputs), [
        o for o in outputs if o.startswith(shared)]
    assert any(o.startswith(f"results-ci/{name}/tables/") for o in outputs)


def test_no_rules_file_reads_another_experiments_section():
    sections = {"sphere", "cosmo", "notebooks"}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        read = set(re.findall(r"config\[[\"'](\w+)[\"']\]", path.read_text()))
        foreign = (read & sections) - {path.stem}
        assert not foreign, f"{path.name} reads {sorted(foreign)}"


def test_yaml_syntax_error_names_the_file_and_line(tmp_path):
    from deepsphere.workflow.config import load_config_file

    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 42\ncosmo:\n  source: [standin\n  zenodo: {}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:4:\d+: YAML syntax error"):
        load_config_file(bad)


def test_yaml_syntax_error_in_the_default_config_is_named(tmp_path):
    """The default config/config.yaml is read by our loader: file and line in the message."""
    work = tmp_path / "wf"
    shutil.copytree(
        ROOT, work, ignore=shutil.ignore_patterns(".venv", ".git", "data", "results*", ".snakemake")
    )
    text = (work / "config/config.yaml").read_text().replace("seed: 42", "seed: [42", 1)
    (work / "config/config.yaml").write_text(text)
    result = _snakemake("-n", cwd=work)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    where = re.escape(str(work / "config/config.yaml"))
    assert re.search(rf"{where}:\d+:\d+: YAML syntax error", out), out[-2000:]


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        ({"preprocess": {"nside": 128}}, ["cosmo.preprocess.nside", "cosmo.standin.nside"]),
        ({"maps_per_class": {"training": 9, "testing": 4}},
         ["cosmo.maps_per_class.training", "cosmo.standin.n_train_per_class"]),
        ({"grid": {"orders": [16]}}, ["cosmo.preprocess.nside", "cosmo.grid.orders"]),
        ({"graphs": {"knn40": {"graph": "knn", "k": 40, "t": "paper"}},
          "deepsphere": {"F": [16, 32, 32]}}, ["cosmo.graphs.knn40.k"]),
    ],
    ids=["preprocess-above-standin", "more-maps-than-generated", "order-too-fine",
         "k-above-level-vertices"],
)
def test_cross_key_checks_name_the_keys(change, keys):
    config = _demo()
    for key, value in change.items():  # merged into the demo's sub-section
        config["cosmo"][key] = {**config["cosmo"][key], **value}
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    for key in keys:
        assert f"'{key}'" in str(error.value), str(error.value)


def test_cross_key_check_of_the_sphere_acceptance():
    config = _demo()
    config["sphere"]["acceptance"]["error_nsides"] = [32, 64, 128]  # 128 is not computed
    with pytest.raises(ConfigError, match=r"'sphere\.acceptance\.error_nsides': \[128\]"):
        validate_config(config, SCHEMA)


def test_paper_config_checks_every_computed_nside():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["sphere"]
    computed = sorted(r["nside"] for r in config["equivariance"]["resolutions"])
    assert sorted(config["acceptance"]["error_nsides"]) == computed
    fs = config["filtering_speed"]
    from deepsphere.experiments.sphere.filtering_speed import paper_filtering_speed

    paper = paper_filtering_speed()
    assert set(paper["nside"]) <= set(fs["nsides"])
    patch_fractions = {12 * o**2 for o in fs["patch_orders"]}
    assert set(paper.loc[paper.method == "graph_patch", "patch_fraction"]) <= patch_fractions


# --------------------------------------------------------------------------- data-defined graph
def test_a_graph_defined_by_a_positions_file_from_another_rule(tmp_path):
    """A rule writes station positions; the graph rule builds the kNN graph on them."""
    import numpy as np

    from deepsphere.geometry.graphs import load_graph

    for name in ("rules", "scripts", "envs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    lon = [0.0, 10.0, 20.0, 90.0, 95.0, -170.0, -60.0, 45.0]
    lat = [0.0, 5.0, -3.0, 40.0, 45.0, -30.0, 60.0, -80.0]
    (tmp_path / "Snakefile").write_text(f'''
config.update({{"seed": 1}})
include: "rules/common.smk"
include: "rules/graphs.smk"
STATIONS = "data/interim/toy/stations.csv"
GRAPH = graph_path({{"sampling": "positions", "positions": STATIONS, "graph": "knn", "k": 3,
                     "t": 0.01}})
rule all:
    input: GRAPH
rule stations:
    output: STATIONS
    run:
        from deepsphere.geometry.positions import write_positions
        write_positions(output[0], {lon!r}, {lat!r})
''')
    result = _snakemake("--cores", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    graph = load_graph(next((tmp_path / "data/interim/graphs").glob("positions-*.npz")))
    # independent reference: brute-force 3-NN on the unit vectors, union, w = exp(-d^2 / 0.04)
    lo, la = np.radians(lon), np.radians(lat)
    v = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)
    d2 = ((v[:, None] - v[None]) ** 2).sum(-1)
    adj = np.zeros_like(d2, dtype=bool)
    for i in range(len(v)):
        adj[i, np.argsort(d2[i])[1:4]] = True
    adj |= adj.T
    expected = np.where(adj, np.exp(-d2 / (4 * 0.01)), 0.0)
    np.testing.assert_allclose(graph.weights.toarray(), expected, rtol=1e-5, atol=1e-7)
    assert graph.definition["positions"] == "data/interim/toy/stations.csv"


def test_the_config_checker_names_the_line_of_a_configfile(tmp_path, capsys):
    from deepsphere.workflow.config import main

    bad = tmp_path / "mine.yaml"
    bad.write_text("seed: 1\ncosmo: {source: standin\n")
    assert main([str(bad), str(SCHEMA)]) == 1
    assert re.search(r"mine\.yaml:\d+:\d+: YAML syntax error", capsys.readouterr().err)
    good = tmp_path / "ok.yaml"
    good.write_text(yaml.safe_dump({"seed": 1, "notebooks": _demo()["notebooks"]}))
    assert main([str(good), str(SCHEMA)]) == 0


def test_an_unknown_section_is_named_with_the_known_experiments():
    known = sorted(p.stem for p in Path(SCHEMA).glob("*.yaml") if p.stem != "common")
    assert {"cosmo", "modelnet40", "notebooks", "shrec17", "sphere"} <= set(known)
    with pytest.raises(ConfigError, match=r"section\(s\) \['cosmos'\] that no experiment defines "
                                          rf"\(known: {', '.join(known)};"):
        validate_config({"seed": 1, "cosmos": {}}, SCHEMA)
