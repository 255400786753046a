"""Run the explanatory notebooks with papermill (the workflow's rule ``notebook``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from deepsphere.io.atomic import atomic_path


def execute_notebook(
    source: str | Path,
    output: str | Path,
    *,
    parameters: dict[str, Any],
    figure_dir: str | Path,
) -> None:
    """Execute ``source`` with ``parameters`` and write the executed copy to ``output``.

    The notebook's figures go to ``figure_dir`` (passed as its ``figure_dir`` parameter).
    The executed notebook is written to a temporary file first and moved into place only if
    every cell ran, so a failed run leaves no output behind; papermill's error names the cell.
    """
    import papermill

    output = Path(output)
    Path(figure_dir).mkdir(parents=True, exist_ok=True)
    with atomic_path(output, suffix=".ipynb") as tmp:
        papermill.execute_notebook(
            str(source),
            str(tmp),
            parameters={**parameters, "figure_dir": str(figure_dir)},
            kernel_name="python3",
            log_output=True,
            progress_bar=False,
            cwd=os.getcwd(),
        )
