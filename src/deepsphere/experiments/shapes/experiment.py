"""What the ModelNet40 and SHREC'17 experiments share in their workflow: paths, run inputs,
memory estimates, config checks and table notes (Keras-free: the Snakefile imports it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from deepsphere.experiments.shapes.raw_files import raw_names
from deepsphere.experiments.shapes.settings import Projection
from deepsphere.workflow.resources import arrays_mem_mb

__all__ = ["ShapesPaths", "data_note", "pooling_errors", "projection_mem_mb", "run_inputs",
           "skipped_note"]

_NAMES = {"modelnet40": "ModelNet40", "shrec17": "SHREC'17"}
_REAL = {"modelnet40": "ModelNet40 (Wu et al. 2015)",
         "shrec17": "SHREC'17 perturbed (ShapeNet Core55)"}


class ShapesPaths:
    """Every path of a shape experiment (``modelnet40`` or ``shrec17``) under the roots."""

    def __init__(self, experiment: str, roots: Mapping, source: str):
        self.experiment = experiment
        self.download = f"{roots['raw']}/{experiment}/download"
        self.standin = f"{roots['raw']}/{experiment}/standin"
        self.raw = self.download if source == "download" else self.standin
        self.interim = roots["interim"]
        self.meshes = f"{roots['interim']}/{experiment}/meshes"
        self.results = f"{roots['results']}/{experiment}"
        self.source = source

    def raw_files(self) -> list[str]:
        """The raw files of the configured source (downloaded, or the stand-in and its record)."""
        extra = ["standin.json"] if self.source == "standin" else []
        return [f"{self.raw}/{n}" for n in (*raw_names(self.experiment), *extra)]

    def metrics(self, run_id: str) -> str:
        return f"{self.results}/metrics/{run_id}.json"


def run_inputs(files: Mapping[str, Projection], interim: str) -> dict[str, str]:
    """A run's inputs: its projected files by name and the training file's statistics."""
    inputs = {k: p.path(interim) for k, p in files.items()}
    inputs["statistics"] = files["train"].statistics_path(interim)
    return inputs


def projection_mem_mb(n_rows: int, n_pixels: int, copies: float = 1.5) -> int:
    """Memory of a job holding ``n_rows`` projections of ``n_pixels`` x 6 float32 values in
    memory (standardised in place; ``copies`` for the subsets and the batches)."""
    return arrays_mem_mb(int(n_rows) * int(n_pixels) * 6, copies=copies)


def pooling_errors(section: str, cfg: Mapping, samplings: Iterable[str]) -> list[str]:
    """A grid too small, or not divisible, for the ``len(F)`` poolings (HEALPix by 4: nside
    halves; equiangular 2 x 2: the bandwidth halves), naming the keys."""
    levels = len(cfg["F"])
    errors = []
    for sampling in samplings:
        key = "nside" if sampling == "healpix" else "bandwidth"
        size = int(cfg[key])
        if size < 2**levels or size % 2**levels:
            errors.append(
                f"config keys '{section}.{key}' ({size}) and '{section}.F' ({levels} widths): "
                f"{levels} poolings halve the {key} {levels} times, so it must be a multiple of "
                f"{2**levels}; change the {key} or the number of widths")
    return errors


def skipped_note(summaries: Iterable) -> str:
    """'meshes skipped as unreadable: n (files)' over the projection summaries of the tables."""
    skipped = sorted({s[0] for path in summaries
                      for s in json.loads(open(path, encoding="utf-8").read())["skipped"]})
    return f"meshes skipped as unreadable: {len(skipped)}" + (
        f" ({', '.join(skipped)})" if skipped else "")


def data_note(experiment: str, source: str) -> str:
    """Which data the numbers come from."""
    if source == "standin":
        return (f"data: the stand-in meshes (parametric shape families in the {_NAMES[experiment]} "
                "layout), so our numbers compare with the paper's in pattern, not in value")
    return f"data: {_REAL[experiment]}"
