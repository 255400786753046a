"""Your own maps: DeepSphere trained on a folder of HEALPix maps from a config alone
(classification, regression or per-pixel segmentation; full sky, a masked sky or NEST patches).

Modules: :mod:`.files` (readers), :mod:`.sky` (masks), :mod:`.table` (the CSV),
:mod:`.settings` (the section's defaults), :mod:`.standin` (generated maps), :mod:`.dataset`,
:mod:`.plan` (the network), :mod:`.rules` (what rules/maps.smk asks), :mod:`.data` (the run's
data), :mod:`.results` and :mod:`.predict` (new maps). Not yet: the tutorial notebook.
"""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "Maps"
