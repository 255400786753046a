"""Cosmo runs outside the slow end-to-end test: the run specs, the shared network run, tables.

References: the demo config's numbers worked by hand (run counts, graph levels), a saved
model's own predictions scored with numpy, hand-made metrics files for the tables.
"""

from __future__ import annotations

import json
import sys
import types
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepsphere.experiments.cosmo import plan
from deepsphere.experiments.cosmo.results import write_cosmo_tables
from deepsphere.experiments.cosmo.rules import CosmoPaths, run_specs
from deepsphere.workflow.runs import NETWORK, RunSpec

ROOT = Path(__file__).resolve().parents[3]


def _demo() -> dict:
    return yaml.safe_load((ROOT / "config/demo.yaml").read_text())


def test_run_specs_of_the_demo():
    config = _demo()
    paths = CosmoPaths({"results": "res", "interim": "tmp", "raw": "raw"}, "standin")
    specs = {s.run_id: s for s in run_specs(config, paths)}
    # grid: 1 order x 2 noises x 6 methods; Table 2 at (2, 0.5): fcn on knn8/20/40 are extra
    assert len(specs) == 12 + 3
    assert {s.runner for s in specs.values() if s.method in ("psd", "hist")} == {"svm"}
    assert {s.runner for s in specs.values() if s.method not in ("psd", "hist")} == {NETWORK}
    assert specs["fcn2d-none-o2-n1"].model_kind == "planar" and not specs["fcn2d-none-o2-n1"].graphs
    fcn = specs["fcn-knn8-o2-n0.5"]
    # F = [16, 32] -> convs F + [2] on nside 64, 32, 16; every level on NEST patch 0 of order 2
    assert [(g["nside"], g["indexes"], g["k"]) for g in fcn.graphs] == [
        (64, {"order": 2, "patch": 0}, 8), (32, {"order": 2, "patch": 0}, 8),
        (16, {"order": 2, "patch": 0}, 8)]
    assert fcn.inputs == {"train": "tmp/cosmo/patches/training_o2.h5",
                          "test": "tmp/cosmo/patches/testing_o2.h5",
                          "normalisation": "tmp/cosmo/patches/normalisation_o2.json"}
    assert fcn.config["training"]["batch_size"] == 8 * 2**2
    # the documented rule: derive_seed(seed, 2, crc32(run id)), a numpy generator seeded so
    crc = zlib.crc32(b"fcn-knn8-o2-n0.5")
    assert fcn.config["seed"] == int(np.random.default_rng([42, 2, crc]).integers(0, 2**31 - 1))
    assert fcn.data["run"] == {"method": "fcn", "order": 2, "noise": 0.5, "graph": "knn8",
                               "run_id": "fcn-knn8-o2-n0.5"}
    assert fcn.record == {"run": fcn.data["run"]} and fcn.data["seed"] == 42
    # a spec survives the trip through the rule's params (JSON)
    assert RunSpec.from_dict(json.loads(json.dumps(fcn.to_dict()))) == fcn


@pytest.mark.slow
def test_the_shared_network_run_trains_evaluates_times_and_records(tmp_path, monkeypatch):
    """A toy experiment plugged in through its data module: what the metrics file says is what
    the saved model predicts."""
    from deepsphere.workflow.network_run import NetworkData, run_network

    rng = np.random.default_rng(0)

    def split(n):
        x = rng.normal(size=(n, 8, 8, 1)).astype("float32")
        x[: n // 2] += 1.0
        return x, (np.arange(n) < n // 2).astype("int64")

    data = NetworkData(split(64), split(16), split(32))
    toy = types.ModuleType("deepsphere.experiments.toy.data")
    toy.network_data = lambda spec, inputs: data
    monkeypatch.setitem(sys.modules, "deepsphere.experiments.toy.data", toy)
    spec = RunSpec(
        run_id="toy-1", experiment="toy", method="cnn2d", model_kind="planar",
        config={"seed": 3, "model": {"image_size": 8, "F": [4], "head": "cnn", "kernel_size": 3},
                "training": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01,
                             "optimizer": {"name": "adam"},
                             "loss": "sparse_categorical_crossentropy"}},
        record={"cell": "toy"}, timing_repeats=2)
    metrics_path, model_path = tmp_path / "m.json", tmp_path / "run" / "model.keras"
    run_network(spec.to_dict(), {}, metrics_path=metrics_path, model_path=model_path)
    record = json.loads(metrics_path.read_text())
    assert record["cell"] == "toy" and record["n_samples"] == {"train": 64, "val": 16, "test": 32}
    assert record["timing"]["per_sample_ms"] > 0 and record["timing"]["hardware"]
    import keras

    model = keras.saving.load_model(model_path)
    pred = model.predict(data.test[0], verbose=0).argmax(-1)
    assert record["metrics"]["accuracy"] == pytest.approx(float((pred == data.test[1]).mean()))
    assert record["metrics"]["accuracy"] > 0.75  # the classes differ by a mean shift of 1: learnt


def _metrics_file(path: Path, method, graph, order, noise, accuracy):
    run = plan.CosmoRun(method, order, noise, None if graph == "none" else graph)
    record = {"run": run.to_dict(), "metrics": {"accuracy": accuracy, "weighted_f1": accuracy,
                                                "n": 100},
              "timing": {"per_sample_ms": 1.5, "hardware": "CPU: test"}}
    out = path / f"{run.run_id}.json"
    out.write_text(json.dumps(record))
    return out


def test_cosmo_tables_put_our_runs_beside_the_paper(tmp_path):
    cosmo = _demo()["cosmo"]
    files = [_metrics_file(tmp_path, "fcn", "v1", 2, 0.5, 0.9),
             _metrics_file(tmp_path, "fcn", "knn8", 2, 0.5, 0.91),
             _metrics_file(tmp_path, "psd", "none", 2, 0.5, 0.5),
             _metrics_file(tmp_path, "psd", "none", 2, 1.0, 0.52)]
    out = {f"{n}_{e}": tmp_path / f"{n}.{e}" for n in ("table2", "grid", "checks")
           for e in ("csv", "md")}
    checks = write_cosmo_tables(files, cosmo, out)
    t2 = pd.read_csv(out["table2_csv"]).set_index(["method", "graph"])
    assert t2.loc[("fcn", "v1"), "accuracy_ours"] == pytest.approx(90.0)
    assert t2.loc[("fcn", "v1"), "accuracy_paper"] == 83.8
    assert np.isnan(t2.loc[("fcn", "knn40"), "accuracy_ours"])  # not run: empty, not zero
    grid = pd.read_csv(out["grid_csv"]).set_index(["method", "order", "noise"])
    assert grid.loc[("psd", 2, 1.0), "accuracy_ours"] == pytest.approx(52.0)
    assert np.isnan(grid.loc[("cnn", 2, 1.0), "accuracy_ours"])
    verdict = {c.name: c.passed for c in checks}
    assert verdict["graph_monotone"] is False  # knn40 missing
    assert "| fcn | v1 |" in out["table2_md"].read_text()
