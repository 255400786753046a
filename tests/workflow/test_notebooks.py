"""The explanatory notebooks execute end to end (their own asserts check their claims)."""

from pathlib import Path

import pytest
import yaml

from deepsphere.workflow.notebooks import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


def test_every_notebook_has_demo_parameters():
    demo = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    assert sorted(demo["notebooks"]) == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_with_the_demo_parameters(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    output = tmp_path / f"{name}.ipynb"
    execute_notebook(
        ROOT / "notebooks" / f"{name}.ipynb",
        output,
        parameters=demo["notebooks"][name],
        figure_dir=tmp_path / "figures",
    )
    assert output.exists()
    assert list((tmp_path / "figures").glob("*.png"))


def test_a_failing_notebook_leaves_no_output(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "broken.ipynb"
    nbformat.write(notebook, source)
    with pytest.raises(Exception, match="broken on purpose"):
        execute_notebook(source, tmp_path / "out" / "broken.ipynb", parameters={}, figure_dir=tmp_path / "f")
    assert not (tmp_path / "out" / "broken.ipynb").exists()
    assert not list((tmp_path / "out").glob("*.ipynb"))
