"""deepsphere.reporting.summary and .pages: the summary page and the report's table pages, on
small hand-made table files; and the report's captions (every table and figure has one, each
says stand-in or real from the config)."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from deepsphere.experiments.titles import experiment_title
from deepsphere.reporting import pages, summary
from deepsphere.reporting.checks import Check, write_verdict
from deepsphere.reporting.tables import write_table

ROOT = Path(__file__).resolve().parents[2]


def _alpha(tmp_path):
    """An experiment on stand-in data: one table (paper beside ours), a failing check and two
    run records on different hardware."""
    tables = tmp_path / "results" / "alpha" / "tables"
    frame = pd.DataFrame({"method": ["ours-net", "baseline"], "acc_paper": [91.25, 80.5],
                          "acc_ours": [88.75, None]})
    write_table(frame, tables / "table9.csv", tables / "table9.md",
                title="Alpha: paper Table 9 (accuracy)", notes=["data: stand-in"])
    write_verdict([Check("beats_baseline", True, "88.75 vs 80.5"),
                   Check("close_to_paper", False, "88.75 vs 91.25")],
                  tables / "checks.csv", tables / "checks.md", title="Alpha: checks")
    metrics = []
    for run, hardware in (("a", "CPU: Test CPU (2 cores)"), ("b", "GPU: Test GPU")):
        path = tmp_path / "results" / "alpha" / "metrics" / f"{run}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"timing": {"hardware": hardware, "per_sample_ms": 1.0}}))
        metrics.append(path)
    targets = [tables / f"{n}.{e}" for n in ("table9", "checks") for e in ("csv", "md")]
    targets.append(tmp_path / "results" / "alpha" / "figures" / "fig.png")
    return summary.experiment_results("alpha", targets, metrics=metrics, source="standin")


def _beta(tmp_path):
    """An experiment without a data set: a CSV-only table, checks that all pass, no records."""
    tables = tmp_path / "results" / "beta" / "tables"
    tables.mkdir(parents=True)
    pd.DataFrame({"nside": [32, 64], "t_paper": [0.5, 0.25], "t_ours": [0.55, 0.24]}).to_csv(
        tables / "widths.csv", index=False)
    write_verdict([Check("within_25%", True, "ok")], tables / "acceptance.csv",
                  title="Beta: acceptance")
    return summary.experiment_results(
        "beta", [tables / "widths.csv", tables / "acceptance.csv"], source=None)


def test_targets_are_sorted_into_tables_and_checks(tmp_path):
    alpha = _alpha(tmp_path)
    assert [Path(t).name for t in alpha.tables] == ["table9.md"]  # the CSV twin is not twice
    assert Path(alpha.checks).name == "checks.csv" and Path(alpha.checks_md).name == "checks.md"
    files = alpha.named_files()
    assert not any(f.endswith(".png") for fs in files.values() for f in fs)  # figures: not read
    assert summary.ExperimentResults.from_named_files("alpha", files, "standin") == alpha
    beta = _beta(tmp_path)
    assert [Path(t).name for t in beta.tables] == ["widths.csv"]  # a CSV-only table counts
    assert Path(beta.checks).name == "acceptance.csv" and beta.checks_md is None


def test_summary_has_every_experiment_paper_and_ours_and_failing_checks(tmp_path):
    alpha, beta = _alpha(tmp_path), _beta(tmp_path)
    real = summary.ExperimentResults("gamma", source="download",
                                     checks=str(tmp_path / "results/alpha/tables/checks.csv"))
    text = summary.write_summary([alpha, beta, real], tmp_path / "results" / "paper.md")
    assert (tmp_path / "results" / "paper.md").read_text() == text
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["Alpha", "Beta", "Gamma"]
    # the table itself, paper beside ours, with its own title (demoted) and notes
    assert "### Alpha: paper Table 9 (accuracy)" in text
    assert "| method | acc_paper | acc_ours |" in text
    assert "| ours-net | 91.25 | 88.75 |" in text and "| baseline | 80.5 | – |" in text
    assert "- data: stand-in" in text
    assert "| nside | t_paper | t_ours |" in text and "| 64 | 0.25 | 0.24 |" in text
    # the checks: counted, the failing one named and shown as FAIL in the table
    assert "1/2 pass; FAIL: close_to_paper" in text
    assert "| close_to_paper | FAIL | 88.75 vs 91.25 |" in text
    assert "| beats_baseline | pass | 88.75 vs 80.5 |" in text
    assert "1/1 pass" in text and "FAIL: within" not in text
    # data source and hardware
    overview = {row.split("|")[1].strip(): row for row in text.splitlines()
                if row.startswith("| [")}
    assert "stand-in" in overview["[Alpha](#alpha)"]
    assert "CPU: Test CPU (2 cores); GPU: Test GPU" in overview["[Alpha](#alpha)"]
    assert "none (generated signals)" in overview["[Beta](#beta)"]
    assert "not recorded" in overview["[Beta](#beta)"]
    assert "real (download)" in overview["[Gamma](#gamma)"]


def test_an_empty_summary_says_so():
    assert "No experiment with tables" in summary.render_summary([])


def test_table_pages_render_the_table_and_mark_failures(tmp_path):
    alpha, beta = _alpha(tmp_path), _beta(tmp_path)
    written = pages.write_pages([alpha, beta], tmp_path / "pages")
    assert sorted(Path(p).relative_to(tmp_path / "pages").as_posix() for p in written) == [
        "alpha/checks.html", "alpha/table9.html", "beta/acceptance.html", "beta/widths.html"]
    table9 = (tmp_path / "pages" / "alpha" / "table9.html").read_text()
    assert "<h1>Alpha: paper Table 9 (accuracy)</h1>" in table9
    assert "<th>acc_paper</th><th>acc_ours</th>" in table9
    assert '<td class="num">91.25</td><td class="num">88.75</td>' in table9
    assert "<strong>stand-in data</strong>" in table9
    checks = (tmp_path / "pages" / "alpha" / "checks.html").read_text()
    assert '<td class="fail">FAIL</td>' in checks and '<td class="pass">pass</td>' in checks
    entries = dict(pages.report_entries("pages", [alpha]))
    assert set(entries) == {"pages/alpha/table9.html", "pages/alpha/checks.html"}
    flags = entries["pages/alpha/table9.html"]
    assert flags["caption"] == "../report/alpha/tables/table9.rst"
    assert (flags["category"], flags["subcategory"]) == ("Alpha", "Tables")
    assert flags["labels"](None) == {"title": "Alpha: paper Table 9 (accuracy)"}
    label = summary.title_label(alpha.checks_md, checks=alpha.checks)(None)
    assert label == {"title": "Alpha: checks: 1/2 pass; FAIL: close_to_paper"}


def test_markdown_subset_escapes_html_and_keeps_escaped_pipes():
    out = pages.markdown_to_html("# T <x>\n\n| a | b |\n|---|---|\n| \\|d\\| | `c` |\n\n- **n**\n")
    assert '<h1 id="t-x">T &lt;x&gt;</h1>' in out
    assert "<td class=\"text\">|d|</td><td class=\"text\"><code>c</code></td>" in out
    assert "<ul><li><strong>n</strong></li></ul>" in out


# ------------------------------------------------------------------------------- captions
CAPTIONS = ROOT / "report"
EXPERIMENTS = ("cosmo", "modelnet40", "shrec17", "climate", "ghcn", "sphere")


def test_every_committed_table_and_figure_has_a_caption():
    missing = []
    for name in EXPERIMENTS:
        results = ROOT / "results" / name
        exp = summary.experiment_results(name, sorted((results / "tables").iterdir()))
        for table in [*exp.tables, exp.checks]:
            if not (CAPTIONS / name / "tables" / f"{Path(table).stem}.rst").is_file():
                missing.append(table)
        for figure in sorted((results / "figures").glob("*.png")):
            if not (CAPTIONS / name / "figures" / f"{figure.stem}.rst").is_file():
                missing.append(figure)
    assert not missing


def test_the_rules_files_mark_figures_with_existing_captions_and_their_category():
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text()
        for caption in re.findall(r'caption="\.\./(report/[^"{]+)"', text):
            assert (ROOT / caption).is_file(), f"{path.name}: {caption}"
        for category in re.findall(r'\bcategory="([^"]+)"', text):
            assert category in ("Summary", experiment_title(path.stem)), path.name


#: A user's own maps (source: folder): the maps captions' "real" branch.
USER_MAPS = {"seed": 1, "maps": {"source": "folder", "folder": "mymaps", "table": "mymaps.csv",
                                 "task": "regression", "target": "omega_m"}}


@pytest.mark.parametrize("configfile", ["config/demo.yaml", "config/config.yaml",
                                        "config/test/maps-ci.yaml", "user maps"])
def test_captions_render_and_say_stand_in_or_real(configfile):
    """Each caption of an experiment in the config renders (Jinja, then reStructuredText
    without a warning) and says, from the config, whether its experiment ran on stand-in or
    real data."""
    import jinja2
    from docutils.core import publish_parts

    config = (USER_MAPS if configfile == "user maps"
              else yaml.safe_load((ROOT / configfile).read_text()))
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)

    class Snakemake:
        pass

    Snakemake.config = config
    rendered = 0
    for caption in sorted(CAPTIONS.glob("*/*/*.rst")):
        name = caption.relative_to(CAPTIONS).parts[0]
        if name not in config:  # e.g. maps: users' data, in neither the paper nor the demo
            continue
        rendered += 1
        text = env.from_string(caption.read_text()).render(snakemake=Snakemake)
        publish_parts(text, writer="html", settings_overrides={"halt_level": 2,
                                                                     "report_level": 5})
        data = text[text.index("Data:"):]
        source = config[name].get("source")
        if source is None:
            assert "no stand-in" in data, caption
        elif source == "standin":
            assert "**stand-in**" in data and "**real**" not in data, caption
        else:
            assert "**real**" in data and "**stand-in**" not in data, caption
    assert rendered, f"no caption of an experiment of {configfile}"
