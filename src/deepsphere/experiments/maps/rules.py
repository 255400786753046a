"""What rules/maps.smk asks of the experiment: paths, the facts of the data, the run spec,
targets and config checks. Keras-free and Snakemake-free (the Snakefile imports it while
parsing).

The model needs facts of the data while the Snakefile is parsed (the graph of every level is a
job of its own): the maps' nside (one file's header), the classes (the table), the channels
(the config) and the observed pixels (the mask). They are read from the user's files, which
exist before the run; for the stand-in, they follow from its config. Cheap problems (a missing
table, column, split or mask) are config errors, before any job runs; a problem inside a map
(NaN inside the mask, another nside) stops the dataset job, before training.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path

from deepsphere.experiments.maps import plan
from deepsphere.experiments.maps.settings import settings
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["EXPERIMENT", "MapsPaths", "config_checks", "data_facts", "map_inputs",
           "predict_table", "run_specs", "targets"]

EXPERIMENT = "maps"
#: The keys the dataset and the run depend on (adding a prediction set reruns nothing).
RUN_KEYS = ("source", "folder", "table", "file_column", "channels", "ordering", "task",
            "target", "classes", "split_column", "split", "nside", "sky", "graph", "network",
            "training", "name", "standin")


class MapsPaths:
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: Mapping, section: Mapping):
        s = settings(section)
        self.standin = f"{roots['raw']}/{EXPERIMENT}/standin"
        if s["source"] == "standin":
            self.folder, self.table = f"{self.standin}/maps", f"{self.standin}/maps.csv"
            self.mask = f"{self.standin}/mask.fits" if s["standin"]["mask"] else None
        else:
            self.folder, self.table, self.mask = s["folder"], s["table"], s["sky"]["mask"]
        self.interim = f"{roots['interim']}/{EXPERIMENT}"
        self.results = f"{roots['results']}/{EXPERIMENT}"
        self.dataset = f"{self.interim}/dataset.h5"
        self.inputs = f"{self.results}/inputs.json"
        self.name = s["name"]

    def metrics(self) -> str:
        return f"{self.results}/metrics/{self.name}.json"

    def model(self) -> str:
        return f"{self.results}/models/{self.name}/model.keras"

    def network_predictions(self) -> str:
        return f"{self.results}/models/{self.name}/predictions.npz"

    def prediction_set(self, name: str) -> str:
        return f"{self.results}/predict/{name}.csv"


def _first_map_nside(table) -> int:
    """The nside of the first map file, from its header (FITS) or its shape (NumPy)."""
    import numpy as np

    path = Path(table.files[0][0])
    if path.suffix in (".npy", ".npz"):
        data = np.load(path, mmap_mode="r") if path.suffix == ".npy" else np.load(path)
        npix = (data if path.suffix == ".npy" else data[data.files[0]]).shape[-1]
    else:
        from astropy.io import fits

        try:
            header = fits.getheader(path, 1)
        except (OSError, IndexError) as err:
            raise ValueError(f"{path}: not a readable HEALPix FITS map ({err})") from err
        if "NSIDE" in header:
            return int(header["NSIDE"])
        from deepsphere.experiments.maps.files import read_healpix_file

        return read_healpix_file(path, channels=None).nside  # no NSIDE keyword: read it all
    return int(round((npix / 12) ** 0.5))


def _n_channels(s: Mapping) -> int:
    channels = s["channels"]
    if isinstance(channels, Mapping):
        return len(channels["names"])
    return len(channels) if channels else 1


@functools.lru_cache(maxsize=8)
def _facts(section_json: str, roots_json: str) -> tuple[plan.DataFacts, object]:
    from deepsphere.experiments.maps.sky import observed_pixels

    section, roots = json.loads(section_json), json.loads(roots_json)
    s, paths = settings(section), MapsPaths(roots, section)
    if s["source"] == "standin":
        from deepsphere.experiments.maps.standin import standin_mask_pixels

        nside_files = int(s["standin"]["nside"])
        nside = int(s["nside"] or nside_files)
        observed = standin_mask_pixels(nside) if s["standin"]["mask"] else None
        n_out = 2 if s["task"] == "classification" else 1
        table = None
    else:
        from deepsphere.experiments.maps.table import read_table

        table = read_table(paths.table, folder=paths.folder, task=s["task"], target=s["target"],
                           file_column=s["file_column"], split_column=s["split_column"],
                           channels=s["channels"])
        nside_files = _first_map_nside(table)
        nside = int(s["nside"] or nside_files)
        if nside > nside_files:
            raise ValueError(f"maps.nside: {nside} is above the maps' nside {nside_files}; "
                             "give at most the maps' nside (maps are never upgraded)")
        sky = s["sky"]
        observed = observed_pixels(sky["mask"], nside, mask_ordering=sky["mask_ordering"],
                                   mask_nside=sky["mask_nside"])
        if s["task"] == "classification":
            n_out = len(table.class_names)
        elif s["task"] == "regression":
            n_out = len(table.target_names)
        else:
            n_out = len(s["classes"] or [])
    facts = plan.DataFacts(nside, None if observed is None else tuple(int(p) for p in observed),
                           s["sky"]["patches"], _n_channels(s), n_out)
    return facts, table


def map_inputs(config: Mapping, paths: MapsPaths) -> list[str]:
    """The dataset rule's map inputs: the stand-in's folder, or every file the table lists."""
    from deepsphere.workflow.config import path_roots

    if settings(config[EXPERIMENT])["source"] == "standin":
        return [paths.folder]
    table = _facts(json.dumps(config[EXPERIMENT], sort_keys=True),
                   json.dumps(path_roots(config), sort_keys=True))[1]
    files = [f for row in table.files for f in row]
    return files + list(table.label_files or [])


def predict_table(s: Mapping, name: str) -> list[str]:
    """The table of prediction set ``name`` as a rule input (none: every map of its folder)."""
    table = s["predict"][name].get("table")
    return [table] if table else []


def data_facts(config: Mapping) -> plan.DataFacts:
    """The :class:`~deepsphere.experiments.maps.plan.DataFacts` of the config's maps."""
    from deepsphere.workflow.config import path_roots

    return _facts(json.dumps(config[EXPERIMENT], sort_keys=True),
                  json.dumps(path_roots(config), sort_keys=True))[0]


def run_specs(config: Mapping, paths: MapsPaths) -> list[RunSpec]:
    """The one network run of the section."""
    s, seed = settings(config[EXPERIMENT]), int(config["seed"])
    facts = data_facts(config)
    run_config = plan.run_config(s, facts, seed)
    from deepsphere.models.config import level_definitions, validate_model_config

    graphs = tuple(level_definitions(validate_model_config(run_config["model"])))
    values = facts.n_vertices * facts.in_channels * 4 * max(1, 12 * (facts.patches or 1) ** 2)
    return [RunSpec(
        run_id=s["name"], experiment=EXPERIMENT, method="deepsphere", runner=NETWORK,
        task=s["task"], config=run_config, graphs=graphs,
        inputs={"dataset": paths.dataset, "inputs": paths.inputs},
        data={"maps": {k: s.get(k) for k in RUN_KEYS}, "seed": seed},
        record={"task": s["task"]}, timing_repeats=int(s["timing"]["repeats"]),
        mem_mb=arrays_mem_mb(values * 64, copies=4.0),
    )]


def targets(paths: MapsPaths, section: Mapping) -> list[str]:
    """The metrics and checks tables, the per-map predictions, the figures, one predictions
    file per prediction set."""
    s = settings(section)
    tables = [f"{paths.results}/tables/{name}.{ext}" for name in ("metrics", "checks")
              for ext in ("csv", "md")]
    figures = [f"{paths.results}/figures/training_curves.png"]
    if s["task"] == "regression":
        figures.append(f"{paths.results}/figures/predicted_vs_true.png")
    return [*tables, f"{paths.results}/predictions.csv", *figures,
            *(paths.prediction_set(name) for name in s["predict"])]


def config_checks(config: Mapping) -> list[str]:
    """The data-dependent checks of the section (empty: all good): the table, its columns and
    splits, the mask, the nside, the network's depth against the observed sky."""
    section = config.get(EXPERIMENT)
    if section is None:
        return []
    s = settings(section)
    errors = []
    if s["sky"]["mask"] is not None and s["sky"]["patches"]:
        errors.append("maps.sky: give a mask or patches, not both")
    if s["task"] == "segmentation" and s["sky"]["patches"]:
        errors.append("maps.sky.patches: segmentation works on whole maps or a mask")
    if s["task"] == "segmentation" and not s["classes"]:
        errors.append("maps.classes: segmentation needs the class names (index = label value)")
    if errors:
        return errors
    try:
        facts = data_facts(config)
    except ValueError as err:
        return [str(err)]
    try:
        from deepsphere.models.config import validate_model_config

        validate_model_config(plan.model_config(s, facts))
    except ValueError as err:
        return [f"maps.network / maps.graph: the network does not fit the observed sky of "
                f"{facts.n_vertices} pixels at nside {facts.nside} ({err}); lower "
                "maps.network.depth or maps.graph.k"]
    return []
