"""`snakemake --report` on a finished demo, and the report opened in a real browser.

A finished workflow for free: the committed demo results (`results/`, made by `snakemake all
--configfile config/demo.yaml`) are copied into a copy of the workflow. Without Snakemake's
metadata (`.snakemake/` is not committed) Snakemake would rerun every job for `all`, so the
summary rule is run alone (`--allowed-rules paper_summary`: the tables it reads are taken as
they are), then `--report`, which needs the outputs marked for the report to exist but not the
metadata (it warns, per file, that the metadata is missing). Nothing is trained.

The browser test opens the report in headless Chromium (Debian package `chromium`): the report
is a JavaScript app, so its text is checked on the DOM after the scripts ran (`--dump-dom`),
and screenshots show that it renders. It is skipped unless Chromium is installed, or
DEEPSPHERE_SYSTEM_TESTS=1 is set, in which case Chromium is installed with apt if missing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKFLOW = ("Snakefile", "rules", "scripts", "config", "envs", "profiles", "report")  # conftest's
DEMO = ("--configfile", "config/demo.yaml")
WINDOW = (1400, 1000)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _snakemake(*args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([str(BIN / "snakemake"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory):
    """A workflow copy holding the committed demo results, its summary rebuilt by its rule and
    its report built: ``(folder, summary run, report run)``."""
    root = tmp_path_factory.mktemp("finished-demo")
    for name in WORKFLOW:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, root / name)
    shutil.copytree(ROOT / "results", root / "results",
                    ignore=shutil.ignore_patterns("models", ".snakemake_timestamp"))
    (root / "results" / "paper.md").unlink(missing_ok=True)  # the rule must make them again
    shutil.rmtree(root / "results" / "report", ignore_errors=True)
    summary = _snakemake("results/paper.md", "--cores", "1", *DEMO,
                         "--allowed-rules", "paper_summary", cwd=root)
    report = _snakemake("--cores", "1", *DEMO, "--report", root / "report.html", cwd=root)
    return root, summary, report


def _titles(results: Path) -> list[str]:
    """Every table's title: the heading of each Markdown table, the stem of a CSV-only one."""
    titles = []
    for tables in sorted(results.glob("*/tables")):
        for path in sorted(tables.iterdir()):
            if path.suffix == ".md":
                titles.append(path.read_text().splitlines()[0].removeprefix("# ").strip())
            elif path.suffix == ".csv" and not path.with_suffix(".md").exists():
                titles.append(path.stem)
    return titles


def test_the_report_of_the_finished_demo_is_built_without_training(finished_demo):
    root, summary, report = finished_demo
    log = summary.stdout + summary.stderr
    assert summary.returncode == 0, log[-3000:]
    assert re.search(r"paper_summary\s+1\s+total\s+1", log), log[-3000:]  # that job only
    paper = (root / "results" / "paper.md").read_text()
    for name in ("Cosmo", "ModelNet40", "SHREC'17", "Climate", "GHCN", "Sphere study"):
        assert f"\n## {name}\n" in paper
    assert "2/3 pass; FAIL: nonweighted_higher_map" in paper  # the committed climate verdict
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    assert "Report created" in report.stdout + report.stderr
    assert (root / "report.html").stat().st_size > 1_000_000  # figures and pages embedded
    # every table page and every figure went in
    added = re.findall(r"Adding (\S+) \(", report.stdout + report.stderr)
    figures = sorted((root / "results").glob("*/figures/*.png"))
    assert len(added) == len(_titles(root / "results")) + 1 + len(figures), added


# -------------------------------------------------------------------------------- browser
def _chromium() -> str:
    """The Chromium executable; skip (or, with DEEPSPHERE_SYSTEM_TESTS=1, install it)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("DEEPSPHERE_SYSTEM_TESTS") != "1":
        pytest.skip("needs the system package 'chromium' (apt-get install -y "
                    "--no-install-recommends chromium), or DEEPSPHERE_SYSTEM_TESTS=1 to install it")
    for cmd in (["apt-get", "update"],
                ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium, but there is no 'chromium' on PATH")
    return found


def _browse(chromium: str, page: Path, tmp: Path, *, screenshot: Path | None = None) -> str:
    """Open ``page`` headless, let its scripts run; screenshot it, or return the DOM."""
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp / 'chromium-profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--virtual-time-budget=8000"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    done = subprocess.run([*args, page.as_uri()], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    if screenshot:
        assert screenshot.is_file(), done.stderr[-2000:]
    return done.stdout


class _Text(HTMLParser):
    """The visible text of a DOM: everything outside script, style and template elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "template")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "template") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _text(dom: str) -> str:
    parser = _Text()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())


def _not_blank(png: Path, *, left: int = 0, share: float = 0.05) -> float:
    """The pixel standard deviation of a screenshot (right of ``left`` px), asserting that more
    than ``share`` of its pixels differ from the most common colour."""
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(png)[:, left:, :3]
    flat = pixels.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    assert 1 - counts.max() / len(flat) > share, f"{png.name}: almost one colour"
    return float(pixels.std())


_DRIVER = """<script>
// What the user does in the report's menu, run once the app is up.
window.addEventListener("load", function () {
  setTimeout(function () { %s }, 300);
});
</script>"""
# Type "results" in the search box: every result, listed with its title.
_SEARCH = 'app.setView({navbarMode: "searchresults", searchTerm: "results"});'
# Click a result: it opens in the main panel, then its description in the menu.
_OPEN = """var path = Object.keys(results).find(function (p) { return p.endsWith("%s"); });
  new ToggleViewManager(app).handleSelectedResult(path);
  setTimeout(function () { app.showResultInfo(path); }, 300);"""


def _driven(report: Path, action: str, out: Path) -> Path:
    """A copy of the report that runs ``action`` (JavaScript) as the user would by clicking."""
    text = report.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    out.write_text(text[:end] + _DRIVER % action + text[end:], encoding="utf-8")
    return out


def test_the_report_renders_in_a_browser(finished_demo, tmp_path):
    chromium = _chromium()
    root, _, report = finished_demo
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    page = root / "report.html"

    # The landing page: what the report holds and the data of each experiment.
    landing = tmp_path / "landing.png"
    _browse(chromium, page, tmp_path, screenshot=landing)
    assert _not_blank(landing) > 0.05
    text = _text(_browse(chromium, page, tmp_path))
    assert "DeepSphere: the paper's tables and figures, rebuilt" in text
    assert re.search(r"cosmo ?: stand-in data", text) and re.search(r"sphere ?: no data", text)
    for category in ("Cosmo", "ModelNet40", "SHREC'17", "Climate", "GHCN", "Sphere study",
                     "Summary"):
        assert category in text

    # Every table's title, as listed when searching (each result under its title).
    search = _driven(page, _SEARCH, tmp_path / "search.html")
    listing = tmp_path / "search.png"
    _browse(chromium, search, tmp_path, screenshot=listing)
    assert _not_blank(listing) > 0.05
    text = _text(_browse(chromium, search, tmp_path))
    titles = _titles(root / "results")
    assert len(titles) >= 20  # the demo: 19 Markdown tables and one CSV-only table
    missing = [t for t in titles if " ".join(t.split()) not in text]
    assert not missing, f"table titles not in the rendered report: {missing}"
    assert "ICLR 2020 Fig. 4: accuracy against inference time" in text  # and the figures'

    # A table and a figure, opened as a click would: the table page in its frame, the figure
    # as an image, and the caption (what it shows, the paper's table, the data) beside them.
    sidebar = 300  # px: the report's menu, left of the content
    for result, element, words in (
        ("report/cosmo/table2.html", '<iframe src="data:text/html', "ICLR 2020 Table 2"),
        ("cosmo/figures/cost_accuracy.png", '<img src="data:image/png', "ICLR 2020 Fig. 4"),
    ):
        driven = _driven(page, _OPEN % result, tmp_path / "driven.html")
        shot = tmp_path / f"{Path(result).stem}.png"
        _browse(chromium, driven, tmp_path, screenshot=shot)
        # a line plot on white is mostly white: 4 % of the panel differs when the menu is
        # narrow (the report's app lays the menu out at one of two widths), 0 % when blank
        assert _not_blank(shot, left=sidebar, share=0.02) > 0.05
        dom = _browse(chromium, driven, tmp_path)
        assert element in dom, result
        caption = _text(dom)
        assert words in caption and "stand-in" in caption, caption[:2000]
        assert html.unescape(result) in html.unescape(dom)
