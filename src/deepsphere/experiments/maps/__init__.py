"""Your own maps: DeepSphere trained on a folder of HEALPix maps from a config alone
(classification, regression or per-pixel segmentation; full sky, a masked sky or NEST patches).

Work in progress (issue #13): the map readers (:mod:`.files`) are here; the config section,
the rules and the tutorial follow.
"""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "Maps"
