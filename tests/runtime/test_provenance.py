"""Provenance of result files: config, versions, git commit (code dirty or not), hardware."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from deepsphere.reporting.figures import figure_provenance, plt, save_figure
from deepsphere.reporting.tables import write_table
from deepsphere.runtime import provenance


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A repository with code (src/, rules/) and committed results/."""
    for name, text in {"src/pkg.py": "x = 1\n", "rules/a.smk": "rule a:\n",
                       "results/t.csv": "a\n1\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    return tmp_path


def test_rewritten_results_do_not_make_the_code_dirty(repo):
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert provenance.git_state(repo / "src") == {"commit": head, "dirty": False, "changed": []}
    (repo / "results/t.csv").write_text("a\n2\n")  # a workflow run rewrote a committed table
    (repo / "src/new.py").write_text("")  # untracked: not part of the commit's code either
    assert provenance.git_commit(repo / "src") == head
    (repo / "rules/a.smk").write_text("rule b:\n")  # the code changed
    state = provenance.git_state(repo / "src")
    assert state["dirty"] is True and state["changed"] == ["rules/a.smk"]
    assert provenance.git_commit(repo / "src") == head + "+dirty"


def test_outside_a_repository_the_commit_is_unknown(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None, "changed": []}
    assert provenance.git_commit(tmp_path) == "unknown"


def test_config_digest_ignores_key_order_and_sees_values():
    a = provenance.config_digest({"seed": 1, "ghcn": {"years": [2010, 2011], "k": 10}})
    b = provenance.config_digest({"ghcn": {"k": 10, "years": [2010, 2011]}, "seed": 1})
    c = provenance.config_digest({"ghcn": {"k": 10, "years": [2010, 2012]}, "seed": 1})
    assert a == b != c and len(a) == 64


def test_a_table_records_the_jobs_config_and_the_rest(tmp_path):
    config = {"seed": 42, "ghcn": {"years": [2010, 2011]}}
    frame = pd.DataFrame({"task": ["t"], "mse_ours": [1.5]})
    with provenance.recording(config, rule="ghcn_tables"):
        write_table(frame, tmp_path / "table8.csv", tmp_path / "table8.md", title="T8")
    rec = json.loads((tmp_path / "table8.provenance.json").read_text())
    assert rec["files"] == ["table8.csv", "table8.md"]
    assert rec["config"] == config and rec["rule"] == "ghcn_tables"
    assert rec["config_sha256"] == provenance.config_digest(config)
    assert rec["versions"]["numpy"] and rec["hardware"]
    assert set(rec) >= {"git_commit", "git_dirty", "platform"}
    md = (tmp_path / "table8.md").read_text()
    assert md.splitlines()[-1].startswith("- produced by: git ")
    assert provenance.config_digest(config)[:12] in md and "table8.provenance.json" in md
    # the CSV itself is unchanged: the numbers only, readable as before
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "table8.csv"), frame)
    # outside a workflow job: no config, said so
    write_table(frame, tmp_path / "other.csv", tmp_path / "other.md")
    assert json.loads((tmp_path / "other.provenance.json").read_text())["config"] is None
    assert "no workflow config" in (tmp_path / "other.md").read_text()


def test_a_figure_holds_its_provenance_in_the_png(tmp_path):
    config = {"seed": 7}
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    with provenance.recording(config, rule="a_figure"):
        save_figure(fig, tmp_path / "f.png")
    rec = figure_provenance(tmp_path / "f.png")
    assert rec["config"] == config and rec["rule"] == "a_figure"
    assert rec["versions"]["deepsphere"] is not None
    fig, _ = plt.subplots()
    plain = tmp_path / "plain.png"
    fig.savefig(plain)
    with pytest.raises(ValueError, match="no 'deepsphere:provenance'"):
        figure_provenance(plain)


def test_recording_blocks_nest_and_restore():
    assert provenance.current_config() is None
    with provenance.recording({"a": 1}):
        with provenance.recording({"b": 2}):
            assert provenance.current_config() == {"b": 2}
        assert provenance.current_config() == {"a": 1}
    assert provenance.current_config() is None
