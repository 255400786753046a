"""Run specs and the run registry: exact wildcards, refusals that name the run."""

import json
import re

import pytest

from deepsphere.workflow.runs import NETWORK, RunRegistry, RunSpec, collect_runs


def _spec(run_id, runner=NETWORK, experiment="cosmo", **kw):
    return RunSpec(run_id=run_id, experiment=experiment, method="fcn", runner=runner, **kw)


def test_the_wildcard_matches_exactly_the_registered_runs_of_a_runner():
    reg = RunRegistry()
    reg.register([_spec("fcn-v1-o1-n3.5"), _spec("fcn-v1-o1-n3"), _spec("psd-none-o1-n3", "svm")])
    pattern = re.compile(f"^(?:{reg.wildcard(NETWORK)})$")
    assert pattern.match("fcn-v1-o1-n3.5") and pattern.match("fcn-v1-o1-n3")
    assert not pattern.match("fcn-v1-o1-n3x5")  # the dot is escaped
    assert not pattern.match("psd-none-o1-n3")  # another runner's run
    assert not re.match(f"^(?:{RunRegistry().wildcard(NETWORK)})$", "anything")


def test_two_different_runs_with_one_name_are_refused():
    reg = RunRegistry()
    reg.register([_spec("a")])
    reg.register([_spec("a")])  # the same spec twice is fine
    with pytest.raises(ValueError, match="two different runs named cosmo/a"):
        reg.register([_spec("a", timing_repeats=7)])


def test_an_unknown_run_names_the_known_ones():
    reg = RunRegistry()
    reg.register([_spec("a"), _spec("b", experiment="other")])
    with pytest.raises(KeyError, match=r"'zz' is not a cosmo run of this config; known runs: \['a'\]"):
        reg.get("cosmo", "zz")


@pytest.mark.parametrize(("field", "value", "match"), [
    ("run_id", "a b", "use letters"), ("task", "ranking", "task 'ranking'"),
    ("model_kind", "graphs", "model_kind 'graphs'")])
def test_bad_specs_are_refused(field, value, match):
    kw = {"run_id": "ok", field: value}
    with pytest.raises(ValueError, match=match):
        RunSpec(experiment="x", method="m", **kw)


def test_collect_runs_flattens_finished_runs_and_refuses_others(tmp_path):
    good = tmp_path / "a.json"
    good.write_text(json.dumps({"run": {"run_id": "a", "noise": 1.0},
                                "metrics": {"accuracy": 0.75, "n": 8, "per_class": [1, 0.5]},
                                "timing": {"per_sample_ms": 2.0, "hardware": "CPU"},
                                "selected_epoch": 3}))
    frame = collect_runs([good])
    row = frame.iloc[0]
    assert (row["run_id"], row["noise"], row["metric.accuracy"], row["metric.n"]) == (
        "a", 1.0, 0.75, 8)
    assert "metric.per_class" not in frame.columns and row["selected_epoch"] == 3
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"run": {"run_id": "b"}, "metrics": {}}))
    with pytest.raises(ValueError, match=r"b\.json: not a finished run's record \(no \['timing'\]\)"):
        collect_runs([good, bad])
