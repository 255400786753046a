"""GHCN networks, runs and results: parameter counts against tf1-spec Appendix A (and the
closed form sum of K F_in F_out + biases), what P = 0 means (no graph), the run plan and the
rule specs of the demo config, the config checks, Table 8 beside the paper's numbers (ICLR
2020 Table 8), the acceptance checks, and the per-station RMSE of the error map."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.ghcn import plan, results
from deepsphere.experiments.ghcn import rules as ghcn_rules
from deepsphere.experiments.ghcn.figures import station_rmse
from deepsphere.workflow.config import load_config_file, path_roots

CONFIG = load_config_file(Path(__file__).resolve().parents[3] / "config" / "demo.yaml")
GH = CONFIG["ghcn"]
N_STATIONS = 16  # more than the demo's k = 10


def _positions(path, seed):
    from deepsphere.geometry.positions import write_positions

    rng = np.random.default_rng(seed)
    write_positions(path, rng.uniform(-180, 180, N_STATIONS), rng.uniform(-70, 70, N_STATIONS))
    return str(path)


def _model(task, order, positions):
    from deepsphere.geometry.graphs import build_graph, graph_id
    from deepsphere.models.spherical import build_model, required_graphs

    cfg = plan.model_config(GH, task, order, positions)
    return build_model(cfg, laplacians={graph_id(d): build_graph(d)
                                        for d in required_graphs(cfg)})


def _closed_form(K, c_in, F, out_bias):
    """Chebyshev convs K * F_in * F_out + one bias per output feature (the last conv of the
    dense head and the global head's output layer have none); BN has no trainable weights."""
    count, prev = 0, c_in
    for i, f in enumerate(F):
        count += K * prev * f + (f if i < len(F) - 1 or out_bias else 0)
        prev = f
    return count


@pytest.mark.parametrize("task,order,expected", [
    ("temperature", 4, 77_000),             # tf1-spec Appendix A: dense, K 5, 5 inputs
    ("day_from_precipitation", 4, 75_600),  # tf1-spec Appendix A: global, K 5, 1 input
    ("temperature", 0, _closed_form(1, 5, [50, 100, 100, 1], False)),
    ("day_from_precipitation", 0, _closed_form(1, 1, [50, 100, 100], True) + 100),
    ("day_from_temperature", 4, _closed_form(5, 2, [50, 100, 100], True) + 100),
])
def test_parameter_counts(tmp_path, task, order, expected):
    from deepsphere.models.spherical import trainable_parameter_count

    assert GH["window"] == 5 and GH["model"]["F"] == [50, 100, 100]
    model = _model(task, order, _positions(tmp_path / "pos.csv", 0))
    assert trainable_parameter_count(model) == expected
    assert _closed_form(5, 5, [50, 100, 100, 1], False) == 77_000  # Appendix A by hand
    assert _closed_form(5, 1, [50, 100, 100], True) + 100 == 75_600


def _outputs(task, order, positions, weights, x):
    """The model's output on ``x``; with ``weights`` (another model's trainable weights, in
    the same layer order) copied in first. The Laplacians (non-trainable) stay this graph's."""
    model = _model(task, order, positions)
    if weights is not None:
        assert len(weights) == len(model.trainable_weights)
        for variable, value in zip(model.trainable_weights, weights, strict=True):
            variable.assign(value)
    weights = [np.asarray(v) for v in model.trainable_weights]
    return weights, np.asarray(model(x, training=False))


@pytest.mark.parametrize("task", ["temperature", "day_from_precipitation"])
def test_order_0_ignores_the_graph_and_order_4_uses_it(tmp_path, task):
    """Same weights on two different station graphs: P = 0 (K = 1, a per-station network)
    gives the same output; P = 4 does not."""
    first, second = _positions(tmp_path / "a.csv", 0), _positions(tmp_path / "b.csv", 1)
    c = GH["window"] if task == "temperature" else 1
    x = np.random.default_rng(2).normal(size=(3, N_STATIONS, c)).astype(np.float32)
    for order, same in ((0, True), (4, False)):
        weights, y = _outputs(task, order, first, None, x)
        _, y2 = _outputs(task, order, second, weights, x)
        assert np.abs(y).max() > 0
        assert np.allclose(y, y2, atol=1e-5) == same, (order, np.abs(y - y2).max())


def test_planned_runs_and_their_ids():
    gh = {**GH, "tasks": ["temperature", "day_from_precipitation"], "orders": [0, 4],
          "seeds": 2}
    assert [r.run_id for r in plan.planned_runs(gh)] == [
        "temperature-P0-s0", "temperature-P0-s1", "temperature-P4-s0", "temperature-P4-s1",
        "day_from_precipitation-P0-s0", "day_from_precipitation-P0-s1",
        "day_from_precipitation-P4-s0", "day_from_precipitation-P4-s1"]
    seeds = {plan.run_config(gh, r, 42, "p.csv")["seed"] for r in plan.planned_runs(gh)}
    assert len(seeds) == 8  # every run its own seed


def test_run_specs_of_the_demo_config():
    paths = ghcn_rules.GhcnPaths(path_roots(CONFIG), GH["source"])
    specs = ghcn_rules.run_specs(CONFIG, paths)
    expected = [f"{t}-P{p}-s0" for t in GH["tasks"] for p in GH["orders"]]
    assert GH["seeds"] == 1 and [s.run_id for s in specs] == expected
    sets = {"temperature": "tmax-tmin", "day_from_temperature": "tmax-tmin",
            "day_from_precipitation": "prcp"}
    for spec in specs:
        run = spec.data["run"]
        name = sets[run["task"]]
        positions = f"{path_roots(CONFIG)['interim']}/ghcn/sets/{name}-positions.csv"
        assert spec.inputs == {"stations": f"{path_roots(CONFIG)['interim']}/ghcn/sets/"
                                           f"{name}.h5", "positions": positions}
        (graph,) = spec.graphs
        assert graph == {"sampling": "positions", "positions": positions, "graph": "knn",
                         "k": GH["graph"]["k"], "t": "mean-distance"}
        model = spec.config["model"]
        assert model["K"] == run["order"] + 1 and model["positions"] == positions
        assert model["graph"]["k"] == GH["graph"]["k"]
        assert spec.data["window"] == 5 and spec.data["split"] == dict(GH["split"])
        assert spec.config["training"]["optimizer"] == {"name": "rmsprop", "rho": 0.9,
                                                        "momentum": 0.0}
        assert spec.task == "regression" and spec.experiment == "ghcn"
    assert ghcn_rules.figure_run(GH) == "temperature-P4-s0"


def _bad(**changes):
    gh = copy.deepcopy(GH)
    for key, value in changes.items():
        *head, last = key.split(".")
        node = gh
        for k in head:
            node = node[k]
        node[last] = value
    return "\n".join(ghcn_rules.config_checks({"ghcn": gh}))


def test_config_checks_name_the_keys():
    assert ghcn_rules.config_checks({"ghcn": GH}) == []
    assert ghcn_rules.config_checks({}) == []
    assert "'ghcn.years'" in _bad(years=[2010, 2012])
    assert "'ghcn.years'" in _bad(years=[2011, 2010])
    assert "'ghcn.figure'" in _bad(**{"figure.order": 2})
    assert "'ghcn.figure'" in _bad(**{"figure.task": "nope"})
    assert "'ghcn.acceptance.better'" in _bad(**{"acceptance.better": 9})
    assert "'ghcn.acceptance.than'" in _bad(**{"acceptance.than": 1})
    k = _bad(**{"standin.n_stations": 10})  # k = 10 on 10 stations
    assert "'ghcn.graph.k'" in k and "'ghcn.standin.n_stations'" in k
    assert _bad(**{"standin.n_stations": 10, "source": "download"}) == ""  # stand-in only
    assert "'ghcn.tasks'" in _bad(tasks=["temperature", "rain"])


# ----------------------------------------------------------------------------- results
RUNS = [  # task, order, repetition, mse, mae, r2
    ("temperature", 0, 0, 9.0, 2.3, 0.90),
    ("temperature", 4, 0, 7.0, 2.0, 0.93),
    ("temperature", 4, 1, 8.0, 2.2, 0.91),
    ("day_from_temperature", 0, 0, 0.08, 0.2, 0.80),
    ("day_from_temperature", 4, 0, 0.09, 0.21, 0.79),  # P = 4 worse: its check fails
    ("day_from_precipitation", 0, 0, 0.5, 0.4, 0.1),   # P = 4 never ran
]


def _metrics_files(tmp_path):
    paths = []
    for task, order, rep, mse, mae, r2 in RUNS:
        run = {"task": task, "order": order, "repetition": rep,
               "run_id": f"{task}-P{order}-s{rep}"}
        rec = {"run": run, "metrics": {"mse": mse, "mae": mae, "r2": r2, "n": 100},
               "trainable_parameters": 77_000 if order else 15_600,
               "timing": {"per_sample_ms": 1.0 + rep, "hardware": "cpu (test)"},
               "selected_epoch": 3, "training_s": 10.0}
        path = tmp_path / f"{run['run_id']}.json"
        path.write_text(json.dumps(rec))
        paths.append(str(path))
    return paths


def test_table8_puts_ours_beside_the_papers(tmp_path):
    agg = results.aggregate(results.run_scores(_metrics_files(tmp_path)))
    t = results.table8_frame(agg, GH["tasks"], GH["orders"]).set_index(["task", "order"])
    row = t.loc[("temperature", 0)]
    assert row.mse_paper == 10.88 and row.mae_paper == 2.42 and row.r2_paper == 0.896
    assert row.mse_ours == 9.0
    p4 = t.loc[("temperature", 4)]
    assert p4.mse_paper == 8.20 and p4.mse_ours == pytest.approx(7.5)  # mean of 7 and 8
    assert p4.mae_ours == pytest.approx(2.1) and p4.r2_ours == pytest.approx(0.92)
    assert t.loc[("temperature", 1)].mse_paper == 8.91  # paper only (commented-out row)
    assert np.isnan(t.loc[("temperature", 1)].mse_ours)
    assert t.loc[("day_from_precipitation", 4)].r2_paper == 0.597
    assert np.isnan(t.loc[("day_from_precipitation", 4)].mse_ours)
    assert t.loc[("day_from_precipitation", 0)].r2_paper == -0.980
    assert list(dict.fromkeys(t.index.get_level_values("task"))) == list(GH["tasks"])
    # only the configured tasks
    t1 = results.table8_frame(agg, ["temperature"], [0, 4])
    assert set(t1.task) == {"temperature"} and list(t1.order) == [0, 1, 4, 9]


def test_acceptance_checks(tmp_path):
    agg = results.aggregate(results.run_scores(_metrics_files(tmp_path)))
    checks = {c.name.split(":")[0]: c for c in results.acceptance_checks(agg, GH["tasks"], 4, 0)}
    assert checks["temperature"].passed  # 7.5 < 9
    assert "7.5 vs 9" in checks["temperature"].detail
    assert not checks["day_from_temperature"].passed  # 0.09 > 0.08
    assert not checks["day_from_precipitation"].passed
    assert "a run is missing" in checks["day_from_precipitation"].detail
    assert "[0]" in checks["day_from_precipitation"].detail  # the orders that ran
    # the other way round, temperature fails
    (flip,) = results.acceptance_checks(agg, ["temperature"], 0, 4)
    assert not flip.passed


def test_write_ghcn_tables(tmp_path):
    out = {f"{n}_{e}": str(tmp_path / f"{n}.{e}") for n in ("table8", "checks")
           for e in ("csv", "md")}
    checks = results.write_ghcn_tables(_metrics_files(tmp_path), GH, out)
    assert [c.passed for c in checks] == [True, False, False]
    table = pd.read_csv(out["table8_csv"])
    row = table[(table.task == "temperature") & (table.order == 4)].iloc[0]
    assert row.mse_paper == 8.20 and row.mse_ours == pytest.approx(7.5) and row.runs == 2
    assert row.parameters == 77_000 and row.inference_ms == pytest.approx(1.5)  # median 1, 2
    verdict = pd.read_csv(out["checks_csv"]).set_index("name")
    assert not verdict.loc["ALL", "passed"]
    md = open(out["table8_md"], encoding="utf-8").read()
    assert "stand-in" in md and "cpu (test)" in md and "10.88" in md


def test_no_metrics_files_is_an_error():
    with pytest.raises(ValueError, match="no GHCN run records"):
        results.run_scores([])


def test_station_rmse_by_hand():
    nan = np.nan
    outputs = np.array([[1.0, 3.0, 0.0], [2.0, 0.0, 0.0], [0.0, 4.0, 0.0]])[..., None]
    labels = np.array([[0.0, 0.0, nan], [0.0, nan, nan], [2.0, 0.0, nan]])[..., None]
    # station 0: errors 1, 2, -2; station 1: 3 and 4 (day 1 missing); station 2: no value
    rmse = station_rmse(outputs, labels)
    np.testing.assert_allclose(rmse[:2], [np.sqrt(9 / 3), np.sqrt(25 / 2)])
    assert np.isnan(rmse[2])
    np.testing.assert_allclose(station_rmse(outputs[..., 0], labels[..., 0])[:2], rmse[:2])
