"""A workflow job's set-up: logging, stdout and stderr to its Snakemake log file, and the
provenance its result files record (:mod:`deepsphere.runtime.provenance`)."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to_file(path: str | Path, level: int = logging.INFO) -> Iterator[None]:
    """Redirect logging, ``sys.stdout`` and ``sys.stderr`` to ``path`` for the block.

    A failure inside the block is written to the log with its traceback and re-raised,
    so Snakemake marks the job failed and the log says why.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(level)
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                yield
        except BaseException:
            stream.write(traceback.format_exc())
            raise
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            sys.stdout.flush()


@contextlib.contextmanager
def workflow_job(snakemake) -> Iterator[None]:
    """The block of a workflow script: :func:`log_to_file` on the job's first log, and its
    config and rule recorded as the provenance of every table and figure written inside."""
    from deepsphere.runtime.provenance import recording

    with log_to_file(snakemake.log[0]), recording(dict(snakemake.config), rule=snakemake.rule):
        yield
